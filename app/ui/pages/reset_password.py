"""`/reset-password?token=...`: set a new password from the emailed link."""

import reflex as rx

from app.ui.components.forms import confirm_password_field, password_field, public_form
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.public import ResetPasswordState


@rx.page(
    route="/reset-password",
    title=page_title("Reset Password"),
    description="Choose a new password for your account.",
    on_load=ResetPasswordState.open_form,
)
def reset_password() -> rx.Component:
    return public_shell(
        form_heading("Reset Password"),
        public_form(
            password_field(
                "New Password",
                "new_password",
                ResetPasswordState.new_password_error,
                on_blur=ResetPasswordState.check_new_password,
                placeholder="New Password",
            ),
            confirm_password_field(
                ResetPasswordState.confirm_password_error,
                ResetPasswordState.check_confirm_password,
                "new_password",
            ),
            submit_label="Reset Password",
            busy=ResetPasswordState.submitting,
            on_submit=ResetPasswordState.reset_password,
        ),
    )
