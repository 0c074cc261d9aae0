"""`/verify-email?token=...`: the page a verification link opens."""

import reflex as rx

from app.ui.components.layout import form_heading, page_title, public_shell
from app.ui.state.verification import VERIFY_EMAIL_ROUTE, VerifyEmailState


def outcome(icon: str, color: str, testid: str) -> rx.Component:
    return rx.callout(
        VerifyEmailState.detail,
        icon=icon,
        color_scheme=color,
        width="100%",
        custom_attrs={"data-testid": testid},
    )


@rx.page(
    route=VERIFY_EMAIL_ROUTE,
    title=page_title("Verify Email"),
    description="Confirm your email address with the link we sent you.",
    on_load=VerifyEmailState.open_page,
)
def verify_email() -> rx.Component:
    return public_shell(
        form_heading("Verify Email"),
        rx.match(
            VerifyEmailState.status,
            ("verified", outcome("circle-check", "green", "verify-email-done")),
            ("failed", outcome("triangle-alert", "red", "verify-email-failed")),
            rx.hstack(rx.spinner(), rx.text("Checking the link…", size="2"), align="center"),
        ),
        rx.cond(
            VerifyEmailState.signed_in,
            rx.link(rx.button("Go to the dashboard", width="100%"), href="/", width="100%"),
            rx.link(rx.button("Log In", width="100%"), href="/login", width="100%"),
        ),
    )
