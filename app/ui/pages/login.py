"""`/login`: email and password, a link to recover the password and one to sign up."""

import reflex as rx

from app.ui.components.forms import labelled, password_input, submit_button, text_input
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
        rx.form(
            rx.vstack(
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
                submit_button("Log In", LoginState.submitting, width="100%"),
                spacing="4",
                width="100%",
            ),
            on_submit=LoginState.log_in,
            width="100%",
        ),
        rx.text(
            "Don't have an account yet? ",
            rx.link("Sign up", href="/signup", weight="medium"),
            size="2",
            color_scheme="gray",
            text_align="center",
            width="100%",
        ),
    )
