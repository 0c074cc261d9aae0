"""The forms of the public pages: log in, sign up, recover and reset a password."""

from typing import TypedDict

import reflex as rx

from app.db import read_session, session_scope
from app.models import UserRegister
from app.services import auth, messages, users
from app.services.auth import Login
from app.services.errors import TwoFactorRequired
from app.ui.state import validation
from app.ui.state.auth import AuthState
from app.ui.state.event import event
from app.ui.state.failures import (
    HOME_ROUTE,
    LOGIN_ROUTE,
    Events,
    reports_failures,
    success_toast,
)

# The template's toast; the API's own reply (messages.RECOVERY_SENT) is worded for clients.
RECOVERY_SENT = "Password recovery email sent successfully"
CODE_REQUIRED = "Code is required"


class ConfirmedPassword(rx.State, mixin=True):
    """A form that sets a new password and asks for it twice (sign-up, reset)."""

    confirm_password_error: str = ""

    @event
    def check_confirm_password(self, value: str, password: str) -> None:
        # The password comes along from the browser: it is never kept in state.
        self._check_confirmation(password, value)

    def _check_confirmation(self, password: str, confirmation: str) -> None:
        self.confirm_password_error = validation.confirmation_error(
            password, confirmation, validation.CONFIRMATION_REQUIRED
        )


class Credentials(rx.State, mixin=True):
    """A form with an email and a password, each checked when the field is left."""

    email_error: str = ""
    password_error: str = ""
    submitting: bool = False

    @event
    def check_email(self, value: str) -> None:
        self.email_error = validation.email_error(value)

    @event
    def check_password(self, value: str) -> None:
        self.password_error = validation.password_error(value)


class LoginOrigin(TypedDict):
    client: str
    user_agent: str
    device_token: str | None


class LoginState(Credentials, AuthState):
    # After a right password of an account with two-factor on: the code step, whose
    # challenge stays on the server (backend-only var), never in the browser.
    two_factor_step: bool = False
    code_error: str = ""
    _challenge: str = ""

    @event
    def clear_errors(self) -> None:
        self.email_error = self.password_error = self.code_error = ""
        self.two_factor_step, self._challenge = False, ""

    @event
    @reports_failures(busy="submitting")
    async def log_in(self, form: dict[str, str]) -> Events:
        email, password = form.get("email", "").strip(), form.get("password", "")
        self.email_error = validation.email_error(email)
        self.password_error = validation.password_error(password)
        if self.email_error or self.password_error:
            return None
        try:
            async with session_scope() as session:
                result = await auth.login(session, email, password, **self._login_origin())
        except TwoFactorRequired as required:
            self._ask_for_code(required)
            return None
        return await self._signed_in(result)

    @event
    @reports_failures(busy="submitting")
    async def submit_code(self, form: dict[str, str]) -> Events:
        """The code step: a code from the authenticator app, or a recovery code."""
        code = form.get("code", "").strip()
        self.code_error = "" if code else CODE_REQUIRED
        if not code:
            return None
        async with session_scope() as session:
            result = await auth.login_two_factor(
                session, self._challenge, code, **self._login_origin()
            )
        return await self._signed_in(result)

    def _login_origin(self) -> LoginOrigin:
        """Where a login comes from, as the services count and record it."""
        return {
            "client": self._client_address(),
            "user_agent": self.router.headers.user_agent,
            "device_token": self.device_token,
        }

    def _ask_for_code(self, required: TwoFactorRequired) -> None:
        """The code step, whose challenge stays on the server."""
        self._challenge, self.two_factor_step, self.code_error = required.challenge, True, ""

    async def _signed_in(self, result: Login) -> Events:
        # A new session starts from nothing, whoever used the tab before.
        await self._forget_user_data()
        self._start_session(result.tokens.access_token)
        self.device_token = result.device_token
        return rx.redirect(HOME_ROUTE, replace=True)


class SignupState(ConfirmedPassword, Credentials, AuthState):
    full_name_error: str = ""

    @event
    def check_full_name(self, value: str) -> None:
        self.full_name_error = validation.required_error(value, validation.FULL_NAME_REQUIRED)

    @event
    def clear_errors(self) -> None:
        self.full_name_error = self.email_error = ""
        self.password_error = self.confirm_password_error = ""

    @event
    @reports_failures(busy="submitting")
    async def sign_up(self, form: dict[str, str]) -> Events:
        full_name, email = form.get("full_name", ""), form.get("email", "").strip()
        password = form.get("password", "")
        self.full_name_error = validation.required_error(full_name, validation.FULL_NAME_REQUIRED)
        self.email_error = validation.email_error(email)
        self.password_error = validation.password_error(password)
        self._check_confirmation(password, form.get("confirm_password", ""))
        if any(
            (
                self.full_name_error,
                self.email_error,
                self.password_error,
                self.confirm_password_error,
            )
        ):
            return None
        data = UserRegister(email=email, password=password, full_name=full_name)
        async with session_scope() as session:
            await users.register_user(session, data, client=self._client_address())
        return rx.redirect(LOGIN_ROUTE)


class RecoverPasswordState(AuthState):
    email_error: str = ""
    submitting: bool = False

    @event
    def clear_errors(self) -> None:
        self.email_error = ""

    @event
    @reports_failures(busy="submitting")
    async def recover(self, form: dict[str, str]) -> Events:
        # Checked on submit only, as in the template.
        email = form.get("email", "").strip()
        self.email_error = validation.email_error(email)
        if self.email_error:
            return None
        async with read_session() as session:
            await auth.request_password_recovery(session, email, client=self._client_address())
        return success_toast(RECOVERY_SENT)


class ResetPasswordState(ConfirmedPassword, AuthState):
    new_password_error: str = ""
    submitting: bool = False

    @event
    @reports_failures()
    async def open_form(self) -> Events:
        """on_load: the page only makes sense with a token and without a session."""
        self.new_password_error = self.confirm_password_error = ""
        live, events = await self._visitor_session()
        if live:
            return rx.redirect(HOME_ROUTE, replace=True)
        if not self.router.url.query_parameters.get("token"):
            events.append(rx.redirect(LOGIN_ROUTE, replace=True))
        return events

    @event
    def check_new_password(self, value: str) -> None:
        self.new_password_error = validation.password_error(value)

    @event
    @reports_failures(busy="submitting")
    async def reset_password(self, form: dict[str, str]) -> Events:
        new_password = form.get("new_password", "")
        self.new_password_error = validation.password_error(new_password)
        self._check_confirmation(new_password, form.get("confirm_password", ""))
        if self.new_password_error or self.confirm_password_error:
            return None
        token = self.router.url.query_parameters.get("token", "")
        async with session_scope() as session:
            await auth.reset_password(session, token, new_password)
        return [success_toast(messages.PASSWORD_UPDATED), rx.redirect(LOGIN_ROUTE)]
