"""The Admin page: one page of all users, and the add/edit/delete user dialogs."""

import dataclasses

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import ReplicaReads, read_session, session_scope
from app.models import User, UserCreate, UserRecord, UserUpdate, is_storable_id
from app.services import messages, sessions, users
from app.services.errors import NotFound
from app.ui.state import validation
from app.ui.state.auth import AuthState
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures, success_toast
from app.ui.table.dialogs import RowDialogs
from app.ui.table.live import LiveTable, users_topics
from app.ui.table.paging import PagedTable

USER_CREATED = "User created successfully"
USER_UPDATED = "User updated successfully"
USER_DELETED = "The user was deleted successfully"
USER_DELETED_ELSEWHERE = "This user was deleted elsewhere"


@dataclasses.dataclass
class UserRow:
    id: int = 0
    email: str = ""
    full_name: str = ""
    is_superuser: bool = False
    is_active: bool = True

    @classmethod
    def of(cls, user: UserRecord | User) -> "UserRow":
        record = user.model_dump() if isinstance(user, User) else user
        return cls(
            id=record["id"],
            email=record["email"],
            full_name=record["full_name"] or "",
            is_superuser=record["is_superuser"],
            is_active=record["is_active"],
        )


def ticked(form: dict[str, str], name: str) -> bool:
    """A checkbox's state in submitted form data: present ("on") only when ticked."""
    return name in form and form[name] not in ("", "off", "false")


class AdminState(LiveTable, RowDialogs, PagedTable, AuthState):
    users: list[UserRow] = []
    # The row the edit or delete dialog is about.
    selected: UserRow = UserRow()
    email_error: str = ""
    password_error: str = ""
    confirm_password_error: str = ""

    async def _fetch(self, session: AsyncSession, caller: User) -> None:
        search = self._search_term()
        rows = await self._fetch_window(
            lambda skip, limit, after, before: users.list_users(
                session, skip, limit, search, after=after, before=before
            )
        )
        self.users = [UserRow.of(user) for user in rows]
        self._watch(caller, users_topics(caller), [row.id for row in self.users], bool(search))

    async def _reload(self) -> None:
        # A normal user is refused (and sent home) before any account is read.
        caller = await self._current_superuser()
        await ReplicaReads(caller.id)(self._fetch, caller)

    async def _reread_row(self, user_id: int) -> UserRow | None:
        await self._current_superuser()
        async with read_session() as session:
            user = await users.get_user(session, user_id)
        return None if user is None else UserRow.of(user)

    def _deleted_elsewhere(self) -> str:
        return USER_DELETED_ELSEWHERE

    def _forget_rows(self) -> None:
        self.users = []

    # Dialogs ---------------------------------------------------------------

    def _row(self, user_id: int) -> UserRow:
        return next((row for row in self.users if row.id == user_id), UserRow())

    def _clear_errors(self) -> None:
        self.email_error = self.password_error = self.confirm_password_error = ""

    @event
    def check_email(self, value: str) -> None:
        self.email_error = validation.email_error(value)

    @event
    def check_new_password(self, value: str) -> None:
        self.password_error = validation.password_error(value)

    @event
    def check_changed_password(self, value: str) -> None:
        self.password_error = validation.optional_password_error(value)

    @event
    def check_confirm_password(self, value: str, password: str) -> None:
        self.confirm_password_error = self._confirmation_error(password, value)

    def _confirmation_error(self, password: str, confirmation: str) -> str:
        if not password and not confirmation:
            # Editing without a new password: nothing to confirm.
            return "" if self.edit_open else validation.CONFIRM_YOUR_PASSWORD
        return validation.confirmation_error(
            password, confirmation, validation.CONFIRM_YOUR_PASSWORD
        )

    def _check_form(self, form: dict[str, str], *, password_required: bool) -> bool:
        password = form.get("password", "")
        self.email_error = validation.email_error(form.get("email", ""))
        self.password_error = (
            validation.password_error(password)
            if password_required
            else validation.optional_password_error(password)
        )
        self.confirm_password_error = self._confirmation_error(
            password, form.get("confirm_password", "")
        )
        return not (self.email_error or self.password_error or self.confirm_password_error)

    @event
    @reports_failures(busy="saving")
    async def create(self, form: dict[str, str]) -> Events:
        if not self._check_form(form, password_required=True):
            return None
        data = UserCreate(
            email=form.get("email", "").strip(),
            full_name=form.get("full_name", ""),
            password=form.get("password", ""),
            is_superuser=ticked(form, "is_superuser"),
            is_active=ticked(form, "is_active"),
        )
        caller = await self._current_superuser()
        async with session_scope() as session:
            await users.create_user_by_admin(session, data)
            self.page = 1
            await self._fetch(session, caller)
        self.add_open = False
        return [success_toast(USER_CREATED), self._show_page_in_url()]

    @event
    @reports_failures(busy="saving")
    async def update(self, form: dict[str, str]) -> Events:
        if not self._check_form(form, password_required=False):
            return None
        fields: dict[str, object] = {
            "email": form.get("email", "").strip(),
            "full_name": form.get("full_name", ""),
            "is_superuser": ticked(form, "is_superuser"),
            "is_active": ticked(form, "is_active"),
        }
        if form.get("password"):
            # A blank password is left out, so the current one stays.
            fields["password"] = form["password"]
        changes = UserUpdate.model_validate(fields)
        caller = await self._current_superuser()
        async with session_scope() as session:
            await users.update_user(session, self.selected.id, changes)
            await self._fetch(session, caller)
        self.edit_open = False
        return [success_toast(USER_UPDATED), self._show_page_in_url()]

    @event
    @reports_failures(busy="saving")
    async def delete(self) -> Events:
        caller = await self._current_superuser()
        async with session_scope() as session:
            await users.delete_user(session, caller, self.selected.id)
            await self._fetch(session, caller)
        self.delete_open = False
        return [success_toast(USER_DELETED), self._show_page_in_url()]

    @event
    @reports_failures(busy="saving")
    async def end_sessions(self, user_id: int) -> Events:
        """The row menu's End Sessions: every session of the user ends, and their open
        tabs go to the login page."""
        await self._current_superuser()
        if not isinstance(user_id, int) or not is_storable_id(user_id):
            raise NotFound(messages.USER_NOT_FOUND)
        async with session_scope() as session:
            if await users.get_user(session, user_id) is None:
                raise NotFound(messages.USER_NOT_FOUND)
            count = await sessions.end_all(session, user_id)
        return success_toast(messages.SESSIONS_ENDED.format(count=count))
