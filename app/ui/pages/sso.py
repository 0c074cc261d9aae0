"""`/login/oidc`: where a provider's sign-on lands (the callback's one-time code): signed
in, or the two-factor code, or the password that links an existing account, or why not."""

import reflex as rx

from app.services.oidc import UI_LANDING_PATH
from app.ui.components.forms import password_field, public_form, switch_prompt
from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.pages.login import code_step
from app.ui.state.failures import LOGIN_ROUTE
from app.ui.state.public import LoginState
from app.ui.state.sso import SsoState


def link_step() -> rx.Component:
    return rx.fragment(
        form_heading("Link your account"),
        rx.text(
            "An account with this email already exists: ",
            rx.text.strong(SsoState.link_email),
            ". Enter its password to log in with ",
            SsoState.link_provider,
            " from now on.",
            size="2",
            color_scheme="gray",
        ),
        public_form(
            password_field(
                "Password",
                "password",
                SsoState.password_error,
                auto_complete="current-password",
            ),
            submit_label="Link and log in",
            busy=SsoState.submitting,
            on_submit=SsoState.link,
        ),
        switch_prompt("Not you?", "Back to login", LOGIN_ROUTE),
    )


def failed_step() -> rx.Component:
    return rx.fragment(
        form_heading("Sign-on failed"),
        rx.callout(
            SsoState.sso_error,
            icon="triangle_alert",
            color_scheme="red",
            size="1",
            custom_attrs={"data-testid": "sso-error"},
        ),  # fmt: skip
        switch_prompt("Try again from the", "login page", LOGIN_ROUTE),
    )


@rx.page(route=UI_LANDING_PATH, title=page_title("Log In"), on_load=SsoState.redeem)
def sso_login() -> rx.Component:
    return public_shell(
        rx.cond(
            LoginState.two_factor_step,
            code_step(back=rx.redirect(LOGIN_ROUTE)),
            rx.cond(
                SsoState.link_email != "",
                link_step(),
                rx.cond(
                    SsoState.sso_error != "",
                    failed_step(),
                    rx.text("Signing you in…", size="2", color_scheme="gray"),
                ),
            ),
        )
    )
