"""The rules of an entity's table, declared once (`EntityRules(...)`): Items is one, and
every entity devtools.scaffold writes.

Owned rows (the default) belong to a user: a user sees and changes their own, a
superuser everyone's. Shared rows (`owned=False`) are seen and changed by every
signed-in user. Lists are newest first, paged at a page's cost whatever their length
(db/paging.py), counted by the database's counters (db/counters.py), and searchable on
the table's text columns. The declaration gives the list, the single-row read (404
before 403), the create, the partial update and the delete, and makes every committed
write of the table a change notice of its `kind` (db/changes.py), which live tables
follow.
"""

from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, bindparam, false, inspect, or_
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import changes, counts
from app.db.paging import CountedList, PageKey, SearchList, fetch_page
from app.models import User, is_storable_id
from app.services.errors import Forbidden, NotFound

Row = TypeVar("Row", bound=SQLModel)
Record = TypeVar("Record")


class EntityRules(Generic[Row, Record]):
    """The rules of one entity's table.

    `record` is the TypedDict a list page is made of (its keys, the columns read);
    `kind` the name of its change notices and live topics ("item"); `search` the text
    columns a search looks in; `not_found` and `not_permitted` the answers' texts.
    """

    def __init__(
        self,
        table: type[Row],
        record: type[Record],
        *,
        kind: str,
        search: Sequence[Any],
        not_found: str,
        not_permitted: str,
        owned: bool = True,
    ) -> None:
        self.table = table
        self.kind = kind
        self.owned = owned
        self.not_found = not_found
        self.not_permitted = not_permitted
        # The mapped columns by attribute name: the table's declaration is the only
        # place its columns are named.
        mapped = inspect(table)
        self._columns = mapped.columns
        self._search = [col(column) for column in search]
        self._records = select(*[self._columns[name] for name in record.__annotations__])
        order = [self._columns["created_at"], self._columns["id"]]
        self._newest_first = [column.desc() for column in order]
        # The two lists every list view asks for, built once; searches per request.
        row_id = self._columns["id"]
        name = mapped.persist_selectable.name
        self._all = CountedList.build(self._records, row_id, order, counts.in_all(name))
        if owned:
            self._owned = self._columns["owner_id"] == bindparam("owner_id")
            counter = SQLModel.metadata.tables[f"{name}_count"]
            self._of_owner = CountedList.build(
                self._records, row_id, order, counts.of_owner(counter), self._owned
            )
        changes.track(table, kind, owned=owned)

    def _sees_all(self, user: User) -> bool:
        return user.is_superuser or not self.owned

    def _matching(self, search: str) -> ColumnElement[bool]:
        # A table without text columns matches no search.
        return or_(false(), *(column.icontains(search, autoescape=True) for column in self._search))

    def list_query(self, user: User, search: str | None = None) -> CountedList | SearchList:
        """The rows `user` may see (all of them for a superuser), or those matching."""
        if not search:
            return self._all if self._sees_all(user) else self._of_owner
        statement = self._records.where(self._matching(search))
        if not self._sees_all(user):
            statement = statement.where(self._owned)
        return SearchList.build(statement, self._newest_first)

    async def list(
        self,
        session: AsyncSession,
        user: User,
        skip: int,
        limit: int,
        search: str | None = None,
        *,
        after: PageKey | None = None,
        before: PageKey | None = None,
    ) -> tuple[list[Record], int]:
        """One page of the rows `user` may see, newest first, and how many there are;
        with `after` / `before` (a row's created_at and id), the page next to that row.

        Plain records, not ORM objects or models: a page of rows costs next to nothing
        to build or serialize.
        """
        rows, count = await fetch_page(
            session,
            self.list_query(user, search),
            skip,
            limit,
            after=after,
            before=before,
            owner_id=user.id,
        )
        return cast(list[Record], rows), count

    async def get(self, session: AsyncSession, user: User, row_id: int) -> Row:
        """The row if it exists (404 first) and `user` may see it (then 403)."""
        row = await session.get(self.table, row_id) if is_storable_id(row_id) else None
        if row is None:
            raise NotFound(self.not_found)
        if not self._sees_all(user) and cast(Any, row).owner_id != user.id:
            raise Forbidden(self.not_permitted)
        return row

    async def create(self, session: AsyncSession, user: User, data: SQLModel) -> Row:
        assert user.id is not None
        row = self.table.model_validate(data, update={"owner_id": user.id} if self.owned else {})
        session.add(row)
        await session.commit()
        return row

    async def update(self, session: AsyncSession, user: User, row_id: int, data: SQLModel) -> Row:
        """Partial update: only the fields sent change (the template's PUT semantics);
        an explicit null for a column that cannot be null leaves it as it is."""
        row = await self.get(session, user, row_id)
        changes = {
            name: value
            for name, value in data.model_dump(exclude_unset=True).items()
            if value is not None or self._columns[name].nullable
        }
        row.sqlmodel_update(changes)
        session.add(row)
        await session.commit()
        return row

    async def delete(self, session: AsyncSession, user: User, row_id: int) -> None:
        row = await self.get(session, user, row_id)
        await session.delete(row)
        await session.commit()
