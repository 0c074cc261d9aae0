"""`/recover-password`: ask for a reset link (the reply never says if the email exists)."""

import reflex as rx

from app.ui.components.forms import labelled, submit_button, text_input
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.auth import AuthState
from app.ui.state.public import RecoverPasswordState


@rx.page(
    route="/recover-password",
    title=page_title("Recover Password"),
    on_load=[RecoverPasswordState.clear_errors, AuthState.redirect_if_signed_in],
)
def recover_password() -> rx.Component:
    return public_shell(
        form_heading(
            "Password Recovery",
            "A password recovery email will be sent to the registered account",
        ),
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
                        auto_complete="email",
                    ),
                    "email",
                    RecoverPasswordState.email_error,
                ),
                submit_button("Continue", RecoverPasswordState.submitting, width="100%"),
                spacing="4",
                width="100%",
            ),
            on_submit=RecoverPasswordState.recover,
            width="100%",
        ),
        rx.text(
            "Remember your password? ",
            rx.link("Log in", href="/login", weight="medium"),
            size="2",
            color_scheme="gray",
            text_align="center",
            width="100%",
        ),
    )
