"""`/login`: email and password, a link to recover the password and one to sign up."""

import reflex as rx

from app.ui.components.forms import email_field, password_field, public_form, switch_prompt
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.auth import AuthState
from app.ui.state.public import LoginState


@rx.page(
    route="/login",
    title=page_title("Log In"),
    on_load=[LoginState.clear_errors, AuthState.redirect_if_signed_in],
)
def login() -> rx.Component:
    return public_shell(
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
        switch_prompt("Don't have an account yet?", "Sign up", "/signup"),
    )
