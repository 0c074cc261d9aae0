"""`/signup`: open registration; success leads to the login page (no auto-login)."""

import reflex as rx

from app.core.config import settings
from app.ui.components.forms import (
    confirm_password_field,
    email_field,
    labelled,
    password_field,
    public_form,
    sso_buttons,
    switch_prompt,
    text_input,
)
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.auth import AuthState
from app.ui.state.public import SignupState


@rx.page(
    route="/signup",
    title=page_title("Sign Up"),
    description=f"Create your {settings.PROJECT_NAME} account: your email and a password.",
    on_load=[SignupState.clear_errors, AuthState.redirect_if_signed_in],
)
def signup() -> rx.Component:
    return public_shell(
        form_heading("Create an account"),
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
            email_field(SignupState.email_error, on_blur=SignupState.check_email),
            password_field(
                "Password",
                "password",
                SignupState.password_error,
                on_blur=SignupState.check_password,
            ),
            confirm_password_field(
                SignupState.confirm_password_error, SignupState.check_confirm_password, "password"
            ),
            submit_label="Sign Up",
            busy=SignupState.submitting,
            on_submit=SignupState.sign_up,
        ),
        sso_buttons("Sign up"),
        switch_prompt("Already have an account?", "Log in", "/login"),
    )
