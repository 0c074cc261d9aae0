"""The Items page: one page of the user's items, search, and the add/edit/delete dialogs."""

import dataclasses

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import ReplicaReads, read_session, session_scope
from app.models import Item, ItemCreate, ItemRecord, ItemUpdate, User
from app.services import items
from app.services.errors import Forbidden, NotFound
from app.ui.state import validation
from app.ui.state.auth import AuthState
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures, success_toast
from app.ui.table.dialogs import RowDialogs
from app.ui.table.live import LiveTable, items_topics
from app.ui.table.paging import PagedTable

ITEM_CREATED = "Item created successfully"
ITEM_UPDATED = "Item updated successfully"
ITEM_DELETED = "The item was deleted successfully"
ITEM_DELETED_ELSEWHERE = "This item was deleted elsewhere"


@dataclasses.dataclass
class ItemRow:
    id: int = 0
    title: str = ""
    description: str = ""

    @classmethod
    def of(cls, item: ItemRecord) -> "ItemRow":
        return cls(id=item["id"], title=item["title"], description=item["description"] or "")

    @classmethod
    def of_item(cls, item: Item) -> "ItemRow":
        assert item.id is not None
        return cls(id=item.id, title=item.title, description=item.description or "")


class ItemsState(LiveTable, RowDialogs, PagedTable, AuthState):
    items: list[ItemRow] = []
    # The row the edit or delete dialog is about.
    selected: ItemRow = ItemRow()
    title_error: str = ""

    async def _fetch(self, session: AsyncSession, user: User) -> None:
        search = self._search_term()
        rows = await self._fetch_window(
            lambda skip, limit, after, before: items.list_items(
                session, user, skip, limit, search, after=after, before=before
            )
        )
        self.items = [ItemRow.of(item) for item in rows]
        self._watch(user, items_topics(user), [row.id for row in self.items], search is not None)

    async def _reload(self) -> None:
        user = await self._current_user()
        await ReplicaReads(user.id)(self._fetch, user)

    def _forget_rows(self) -> None:
        self.items = []

    async def _reread_row(self, item_id: int) -> ItemRow | None:
        user = await self._current_user()
        try:
            async with read_session() as session:
                return ItemRow.of_item(await items.get_item(session, user, item_id))
        except (NotFound, Forbidden):
            return None

    def _deleted_elsewhere(self) -> str:
        return ITEM_DELETED_ELSEWHERE

    # Dialogs ---------------------------------------------------------------

    def _row(self, item_id: int) -> ItemRow:
        return next((row for row in self.items if row.id == item_id), ItemRow())

    def _clear_errors(self) -> None:
        self.title_error = ""

    @event
    def check_title(self, value: str) -> None:
        self.title_error = validation.required_error(value, validation.TITLE_REQUIRED)

    def _form_fields(self, form: dict[str, str]) -> tuple[str, str]:
        # As typed, "" when cleared: the API stores the same for the same request.
        title = form.get("title", "")
        self.title_error = validation.required_error(title, validation.TITLE_REQUIRED)
        return title, form.get("description", "")

    @event
    @reports_failures(busy="saving")
    async def create(self, form: dict[str, str]) -> Events:
        title, description = self._form_fields(form)
        if self.title_error:
            return None
        data = ItemCreate(title=title, description=description)
        user = await self._current_user()
        async with session_scope() as session:
            await items.create_item(session, user, data)
            # Newest first: the new item heads the first page.
            self.page = 1
            await self._fetch(session, user)
        self.add_open = False
        return [success_toast(ITEM_CREATED), self._show_page_in_url()]

    @event
    @reports_failures(busy="saving")
    async def update(self, form: dict[str, str]) -> Events:
        title, description = self._form_fields(form)
        if self.title_error:
            return None
        data = ItemUpdate(title=title, description=description)
        user = await self._current_user()
        async with session_scope() as session:
            await items.update_item(session, user, self.selected.id, data)
            await self._fetch(session, user)
        self.edit_open = False
        return [success_toast(ITEM_UPDATED), self._show_page_in_url()]

    @event
    @reports_failures(busy="saving")
    async def delete(self) -> Events:
        user = await self._current_user()
        async with session_scope() as session:
            await items.delete_item(session, user, self.selected.id)
            await self._fetch(session, user)
        self.delete_open = False
        return [success_toast(ITEM_DELETED), self._show_page_in_url()]
