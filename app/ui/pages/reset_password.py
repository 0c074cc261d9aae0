"""`/reset-password?token=...`: set a new password from the emailed link."""

import reflex as rx

from app.ui.components.forms import field_value, labelled, password_input, public_form
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.public import ResetPasswordState


@rx.page(
    route="/reset-password",
    title=page_title("Reset Password"),
    on_load=ResetPasswordState.open_form,
)
def reset_password() -> rx.Component:
    return public_shell(
        form_heading("Reset Password", "Enter your new password and confirm it"),
        public_form(
            labelled(
                "New Password",
                password_input(
                    name="new_password",
                    field_id="new_password",
                    placeholder="New Password",
                    testid="new-password-input",
                    on_blur=ResetPasswordState.check_new_password,
                    auto_complete="new-password",
                ),
                "new_password",
                ResetPasswordState.new_password_error,
            ),
            labelled(
                "Confirm Password",
                password_input(
                    name="confirm_password",
                    field_id="confirm_password",
                    placeholder="Confirm Password",
                    testid="confirm-password-input",
                    on_blur=lambda value: ResetPasswordState.check_confirm_password(
                        value, field_value("new_password")
                    ),
                    auto_complete="new-password",
                ),
                "confirm_password",
                ResetPasswordState.confirm_password_error,
            ),
            submit_label="Reset Password",
            busy=ResetPasswordState.submitting,
            on_submit=ResetPasswordState.reset_password,
        ),
    )
