"""The state of an entity's table page, from its declaration: one page of rows, search,
live refreshes and the add / edit / delete dialogs.

An entity's page state is a declaration (`EntityUI`) on a class:

    class ItemsState(EntityTable, AuthState):
        _entity: ClassVar[EntityUI] = EntityUI(rules=items.ITEMS, ...)

Its rows reach the page as `EntityRow`s whose values are the form's text for each
field (what an input shows and sends back), so one page component draws any entity.
The rules stay in one place: the form's values go through the entity's own API
schemas (`create`, `update`), and a value they refuse is shown under its field with
the API's message.
"""

import dataclasses
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ValidationError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import ReplicaReads, read_session, session_scope
from app.models import User
from app.services.entity import EntityRules
from app.services.errors import Forbidden, NotFound
from app.services.sessions import Caller
from app.ui.state import validation
from app.ui.state.auth import caller_of
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures, success_toast
from app.ui.table.dialogs import RowDialogs
from app.ui.table.live import LiveTable, live_tables, table_topics
from app.ui.table.paging import FetchWindow, PagedTable, Window, read_window

FieldKind = Literal["str", "text", "int", "float", "bool", "date", "datetime"]
# The form value of a ticked checkbox (a form leaves an unticked one out).
TICKED = "on"


@dataclasses.dataclass(frozen=True)
class Field:
    """One column of an entity as its page shows and edits it."""

    name: str
    label: str
    kind: FieldKind = "str"
    required: bool = False

    @property
    def required_message(self) -> str:
        return f"{self.label} is required"


@dataclasses.dataclass(frozen=True)
class EntityUI:
    """How an entity shows in the UI: its rules, its API schemas and its names."""

    rules: EntityRules[Any, Any]
    create: type[SQLModel]
    update: type[SQLModel]
    # "Item" / "Items": headings, buttons, dialogs and messages are made of these.
    singular: str
    plural: str
    fields: tuple[Field, ...]

    @property
    def created(self) -> str:
        return f"{self.singular} created successfully"

    @property
    def updated(self) -> str:
        return f"{self.singular} updated successfully"

    @property
    def deleted(self) -> str:
        return f"The {self.singular.lower()} was deleted successfully"

    @property
    def deleted_elsewhere(self) -> str:
        return f"This {self.singular.lower()} was deleted elsewhere"


def form_text(value: Any) -> str:
    """A stored value as the form's input shows it (date and datetime-local inputs
    take ISO text; datetimes are shown and entered in UTC)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return TICKED if value else ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclasses.dataclass
class EntityRow:
    id: int = 0
    # Each field's form text, by field name.
    cells: dict[str, str] = dataclasses.field(default_factory=dict)


def _row(fields: tuple[Field, ...], source: Any) -> EntityRow:
    """A list page's record (a dict) or a table row, as the page shows it."""
    record: dict[str, Any] = source if isinstance(source, dict) else source.model_dump()
    return EntityRow(id=record["id"], cells={f.name: form_text(record[f.name]) for f in fields})


def _form_value(field: Field, form: dict[str, str]) -> Any:
    """What the form sends for `field`, as the API's schema takes it."""
    text: Any = form.get(field.name, "")
    if not isinstance(text, str):
        # Not what a form sends (a client's own event): the schema says what is wrong.
        return text
    if field.kind == "bool":
        return text == TICKED
    if field.kind in ("str", "text"):
        # As typed, "" when cleared: the API stores the same for the same request.
        return text
    if not text:
        return None
    if field.kind == "datetime" and not text.endswith("Z"):
        return f"{text}Z"
    return text


class EntityTable(LiveTable, RowDialogs, PagedTable, mixin=True):
    """A paged, searchable, live table of an entity with its dialogs; the concrete
    state adds AuthState and its `_entity` declaration."""

    _entity: ClassVar[EntityUI]

    rows: list[EntityRow] = []
    # The row the edit or delete dialog is about.
    selected: EntityRow = EntityRow()
    # The message under each field, by field name.
    field_errors: dict[str, str] = {}

    if TYPE_CHECKING:
        # The concrete state's AuthState has it.
        access_token: str

        async def _current_user(self, *, unverified: bool = False) -> User: ...
        def _take_caller(self, caller: Caller, *, unverified: bool = False) -> Caller: ...

    async def _fetch(self, session: AsyncSession, user: User) -> None:
        search = self._search_term()
        records = await self._fetch_window(self._lister(session, user, search))
        self._show_records(user, records, search)

    def _lister(self, session: AsyncSession, user: User, search: str | None) -> FetchWindow[Any]:
        """How a window of this table's rows is read: the entity's own list rule."""
        rules = self._entity.rules
        return lambda skip, limit, after, before: rules.list(
            session, user, skip, limit, search, after=after, before=before
        )

    def _show_records(self, user: User, records: list[Any], search: str | None) -> None:
        entity = self._entity
        self.rows = [_row(entity.fields, record) for record in records]
        topics = table_topics(entity.rules.kind, user, owned=entity.rules.owned)
        self._watch(user, topics, [row.id for row in self.rows], search is not None)

    async def _reload(self) -> None:
        user = await self._current_user()
        await ReplicaReads(user.id)(self._fetch, user)

    async def _reload_live(self) -> None:
        """A refresh: the caller and the page as `_reload` reads them, each read once for
        this process's tabs that need the same (app/ui/table/shared_reads.py): the
        caller once per session, the page once per user. One write refreshes them all."""
        view = live_tables.view(self._client_token())
        token = self.access_token
        if view is None or not token:
            await self._reload()
            return
        me = frozenset({("me", view.user_id)})
        caller = await live_tables.reads.read("caller", token, me, lambda: caller_of(token))
        user = self._take_caller(caller).user
        assert user.id is not None
        rules, search = self._entity.rules, self._search_term()
        page, page_size = self.page, self.page_size
        self._beside = None

        async def window(session: AsyncSession) -> Window[Any]:
            return await read_window(self._lister(session, user, search), page, page_size)

        key = (type(self).get_full_name(), user.id, page, page_size, search)
        topics = table_topics(rules.kind, user, owned=rules.owned)
        reads = ReplicaReads(user.id)
        shown = await live_tables.reads.read("page", key, topics, lambda: reads(window))
        self._show_records(user, self._show_window(shown), search)

    def _forget_rows(self) -> None:
        self.rows = []

    async def _reread_row(self, row_id: int) -> EntityRow | None:
        user = await self._current_user()
        try:
            async with read_session() as session:
                found = await self._entity.rules.get(session, user, row_id)
        except (NotFound, Forbidden):
            return None
        return _row(self._entity.fields, found)

    def _deleted_elsewhere(self) -> str:
        return self._entity.deleted_elsewhere

    # Dialogs ---------------------------------------------------------------

    def _row(self, row_id: int) -> EntityRow:
        return next((row for row in self.rows if row.id == row_id), EntityRow())

    def _clear_errors(self) -> None:
        self.field_errors = {}

    def _field(self, name: str) -> Field | None:
        return next((f for f in self._entity.fields if f.name == name), None)

    @event
    def check_field(self, name: str, value: str) -> None:
        """On leaving a required field: say so if it is empty (or holds what no store
        can keep); other checks wait for the save."""
        field = self._field(name)
        if field is None or not field.required:
            return
        message = validation.required_error(value, field.required_message)
        self.field_errors = {**self.field_errors, name: message}

    def _validated(self, schema: type[SQLModel], form: dict[str, str]) -> SQLModel | None:
        """The form as the API's schema takes it, or None with each field's message."""
        errors: dict[str, str] = {}
        data: dict[str, Any] = {}
        for field in self._entity.fields:
            value = _form_value(field, form)
            if field.required and value in ("", None):
                errors[field.name] = field.required_message
            data[field.name] = value
        if not errors:
            try:
                return schema.model_validate(data)
            except ValidationError as error:
                for problem in error.errors():
                    name = str(problem["loc"][0]) if problem["loc"] else ""
                    errors.setdefault(name, problem["msg"])
        self.field_errors = errors
        return None

    @event
    @reports_failures(busy="saving")
    async def create(self, form: dict[str, str]) -> Events:
        data = self._validated(self._entity.create, form)
        if data is None:
            return None
        user = await self._current_user()
        async with session_scope() as session:
            await self._entity.rules.create(session, user, data)
            # Newest first: the new row heads the first page.
            self.page = 1
            await self._fetch(session, user)
        self.add_open = False
        return [success_toast(self._entity.created), self._show_page_in_url()]

    @event
    @reports_failures(busy="saving")
    async def update(self, form: dict[str, str]) -> Events:
        data = self._validated(self._entity.update, form)
        if data is None:
            return None
        user = await self._current_user()
        async with session_scope() as session:
            await self._entity.rules.update(session, user, self.selected.id, data)
            await self._fetch(session, user)
        self.edit_open = False
        return [success_toast(self._entity.updated), self._show_page_in_url()]

    @event
    @reports_failures(busy="saving")
    async def delete(self) -> Events:
        user = await self._current_user()
        async with session_scope() as session:
            await self._entity.rules.delete(session, user, self.selected.id)
            await self._fetch(session, user)
        self.delete_open = False
        return [success_toast(self._entity.deleted), self._show_page_in_url()]
