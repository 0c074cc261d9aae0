"""`/recover-password`: ask for a reset link (the reply never says if the email exists)."""

import reflex as rx

from app.ui.components.forms import email_field, public_form, switch_prompt
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.auth import AuthState
from app.ui.state.public import RecoverPasswordState


@rx.page(
    route="/recover-password",
    title=page_title("Recover Password"),
    description="Forgot your password? Get a link by email to choose a new one.",
    on_load=[RecoverPasswordState.clear_errors, AuthState.redirect_if_signed_in],
)
def recover_password() -> rx.Component:
    return public_shell(
        form_heading(
            "Password Recovery",
            "A password recovery email will be sent to the registered account",
        ),
        public_form(
            email_field(RecoverPasswordState.email_error),
            submit_label="Continue",
            busy=RecoverPasswordState.submitting,
            on_submit=RecoverPasswordState.recover,
        ),
        switch_prompt("Remember your password?", "Log in", "/login"),
    )
