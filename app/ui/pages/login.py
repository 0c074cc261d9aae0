"""`/login`: email and password (then a two-factor code if the account has it on), a
link to recover the password and one to sign up."""

from typing import Any

import reflex as rx

from app.core.config import settings
from app.ui.components.forms import (
    email_field,
    password_field,
    public_form,
    sso_buttons,
    switch_prompt,
    two_factor_code_field,
)
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.auth import AuthState
from app.ui.state.public import LoginState


def code_step(back: Any = LoginState.clear_errors) -> rx.Component:
    """After a right password (or a provider's sign-on, /login/oidc), when the account
    has two-factor on; `back` leaves the step."""
    return rx.fragment(
        form_heading(
            "Two-factor authentication",
            "Enter the code from your authenticator app, or one of your recovery codes.",
        ),
        public_form(
            two_factor_code_field(
                "two-factor-code", LoginState.code_error, "code-input", auto_focus=True
            ),
            submit_label="Verify",
            busy=LoginState.submitting,
            on_submit=LoginState.submit_code,
        ),
        rx.button(
            "Back to login",
            type="button",
            variant="ghost",
            on_click=back,
            size="2",
        ),
    )


def password_step() -> rx.Component:
    return rx.fragment(
        form_heading("Login to your account"),
        public_form(
            email_field(LoginState.email_error, on_blur=LoginState.check_email),
            password_field(
                "Password",
                "password",
                LoginState.password_error,
                on_blur=LoginState.check_password,
                auto_complete="current-password",
                aside=rx.link("Forgot your password?", href="/recover-password", size="2"),
            ),
            submit_label="Log In",
            busy=LoginState.submitting,
            on_submit=LoginState.log_in,
        ),
        sso_buttons(),
        switch_prompt("Don't have an account yet?", "Sign up", "/signup"),
    )


@rx.page(
    route="/login",
    title=page_title("Log In"),
    description=f"Log in to {settings.PROJECT_NAME} to manage your items and account.",
    on_load=[LoginState.clear_errors, AuthState.redirect_if_signed_in],
)
def login() -> rx.Component:
    return public_shell(rx.cond(LoginState.two_factor_step, code_step(), password_step()))
