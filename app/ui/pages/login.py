"""`/login`: email and password, a link to recover the password and one to sign up."""

import reflex as rx

from app.ui.components.forms import labelled, password_input, public_form, switch_prompt, text_input
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
        form_heading("Login to your account", "Enter your email and password to continue"),
        public_form(
            labelled(
                "Email",
                text_input(
                    name="email",
                    field_id="email",
                    type="email",
                    placeholder="user@example.com",
                    testid="email-input",
                    on_blur=LoginState.check_email,
                    auto_complete="email",
                ),
                "email",
                LoginState.email_error,
            ),
            labelled(
                "Password",
                password_input(
                    name="password",
                    field_id="password",
                    testid="password-input",
                    on_blur=LoginState.check_password,
                ),
                "password",
                LoginState.password_error,
                aside=rx.link("Forgot your password?", href="/recover-password", size="2"),
            ),
            submit_label="Log In",
            busy=LoginState.submitting,
            on_submit=LoginState.log_in,
        ),
        switch_prompt("Don't have an account yet?", "Sign up", "/signup"),
    )
