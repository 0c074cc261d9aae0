"""`/signup`: open registration; success leads to the login page (no auto-login)."""

import reflex as rx

from app.ui.components.forms import (
    field_value,
    labelled,
    password_input,
    public_form,
    switch_prompt,
    text_input,
)
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.auth import AuthState
from app.ui.state.public import SignupState


@rx.page(
    route="/signup",
    title=page_title("Sign Up"),
    on_load=[SignupState.clear_errors, AuthState.redirect_if_signed_in],
)
def signup() -> rx.Component:
    return public_shell(
        form_heading("Create an account", "Enter your details below to get started"),
        public_form(
            labelled(
                "Full Name",
                text_input(
                    name="full_name",
                    field_id="full_name",
                    placeholder="User",
                    testid="full-name-input",
                    on_blur=SignupState.check_full_name,
                    auto_complete="name",
                ),
                "full_name",
                SignupState.full_name_error,
            ),
            labelled(
                "Email",
                text_input(
                    name="email",
                    field_id="email",
                    type="email",
                    placeholder="user@example.com",
                    testid="email-input",
                    on_blur=SignupState.check_email,
                    auto_complete="email",
                ),
                "email",
                SignupState.email_error,
            ),
            labelled(
                "Password",
                password_input(
                    name="password",
                    field_id="password",
                    testid="password-input",
                    on_blur=SignupState.check_password,
                    auto_complete="new-password",
                ),
                "password",
                SignupState.password_error,
            ),
            labelled(
                "Confirm Password",
                password_input(
                    name="confirm_password",
                    field_id="confirm_password",
                    placeholder="Confirm Password",
                    testid="confirm-password-input",
                    on_blur=lambda value: SignupState.check_confirm_password(
                        value, field_value("password")
                    ),
                    auto_complete="new-password",
                ),
                "confirm_password",
                SignupState.confirm_password_error,
            ),
            submit_label="Sign Up",
            busy=SignupState.submitting,
            on_submit=SignupState.sign_up,
        ),
        switch_prompt("Already have an account?", "Log in", "/login"),
    )
