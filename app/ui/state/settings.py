"""The User Settings page: profile, password and account deletion."""

import reflex as rx

from app.db import session_scope
from app.models import UserUpdateMe
from app.services import messages, users
from app.ui.state import validation
from app.ui.state.auth import AuthState, SignedInUser
from app.ui.state.event import event
from app.ui.state.failures import LOGIN_ROUTE, Events, reports_failures, success_toast

USER_UPDATED = "User updated successfully"
ACCOUNT_DELETED = "Your account has been successfully deleted"
PASSWORD_FIELDS = ("current-password", "new-password", "confirm-password")


class ProfileState(AuthState):
    editing: bool = False
    full_name_draft: str = ""
    email_draft: str = ""
    email_error: str = ""
    saving: bool = False

    @rx.var
    def changed(self) -> bool:
        return (
            self.full_name_draft != self.user.full_name
            or self.email_draft.strip() != self.user.email
        )

    @event
    @reports_failures()
    async def open_page(self) -> None:
        """on_load of /settings: a fresh read of the user, out of edit mode (an unverified
        user may come here to delete the account)."""
        await self._current_user(unverified=True)
        self.editing, self.email_error = False, ""

    @event
    def start_editing(self) -> None:
        self.full_name_draft, self.email_draft = self.user.full_name, self.user.email
        self.editing, self.email_error = True, ""

    @event
    def cancel_editing(self) -> None:
        self.editing, self.email_error = False, ""

    @event
    def set_full_name_draft(self, value: str) -> None:
        self.full_name_draft = value

    @event
    def set_email_draft(self, value: str) -> None:
        self.email_draft = value

    @event
    def check_email(self, value: str) -> None:
        self.email_error = validation.email_error(value)

    @event
    @reports_failures(busy="saving")
    async def save(self, form: dict[str, str]) -> Events:
        # The name as typed, "" when cleared: what the API stores for the same PATCH.
        full_name, email = form.get("full_name", ""), form.get("email", "").strip()
        self.email_error = validation.email_error(email)
        if self.email_error:
            return None
        user = await self._current_user()
        async with session_scope() as session:
            # Only what changed is sent, as the template's PATCH does.
            changes: dict[str, object] = {}
            if full_name != (user.full_name or ""):
                changes["full_name"] = full_name
            if email != user.email:
                changes["email"] = email
            updated = await users.update_me(session, user, UserUpdateMe.model_validate(changes))
            self.user = SignedInUser.of(updated)
        self.editing = False
        return success_toast(USER_UPDATED)


class PasswordState(AuthState):
    current_password_error: str = ""
    new_password_error: str = ""
    confirm_password_error: str = ""
    saving: bool = False

    @event
    def clear_errors(self) -> None:
        self.current_password_error = self.new_password_error = self.confirm_password_error = ""

    @event
    @reports_failures(busy="saving")
    async def change_password(self, form: dict[str, str]) -> Events:
        # Checked on submit only, as in the template.
        current, new = form.get("current_password", ""), form.get("new_password", "")
        self.current_password_error = validation.password_error(current)
        self.new_password_error = validation.password_error(new)
        self.confirm_password_error = validation.confirmation_error(
            new, form.get("confirm_password", ""), validation.CONFIRMATION_REQUIRED
        )
        if self.current_password_error or self.new_password_error or self.confirm_password_error:
            return None
        caller = await self._current_caller()
        async with session_scope() as session:
            await users.change_password(
                session, caller.user, current, new, current_session=caller.session_id
            )
        # Every other session ended; this tab's goes on.
        return [
            success_toast(messages.PASSWORD_UPDATED),
            *(rx.set_value(field, "") for field in PASSWORD_FIELDS),
        ]


class DeleteAccountState(AuthState):
    confirm_open: bool = False
    deleting: bool = False

    @event
    def set_confirm_open(self, is_open: bool) -> None:
        self.confirm_open = is_open

    @event
    @reports_failures(busy="deleting")
    async def delete_account(self) -> Events:
        user = await self._current_user(unverified=True)
        async with session_scope() as session:
            await users.delete_me(session, user)
        self.confirm_open = False
        return [
            success_toast(ACCOUNT_DELETED),
            *await self._forget_session(),
            rx.redirect(LOGIN_ROUTE, replace=True),
        ]
