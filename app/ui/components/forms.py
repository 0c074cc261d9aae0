"""Form building blocks: labelled inputs with their message, password toggles, buttons."""

from collections.abc import Callable
from typing import Any, Literal

import reflex as rx
from reflex.event import EventType

from app.core.config import settings
from app.models import PASSWORD_MAX_LENGTH, TEXT_MAX_LENGTH, TWO_FACTOR_CODE_MAX_LENGTH
from app.services import oidc
from app.ui.state.visibility import PASSWORD_FIELD_IDS, PasswordVisibilityState

InputType = Literal["text", "email", "password", "search"]


def field_value(field_id: str) -> rx.Var[str]:
    """What a field holds in the browser right now, to send along with another field's event.

    Used for "do the passwords match" on blur, so a password is never kept in state.
    """
    return rx.Var(f"(document.getElementById({field_id!r})?.value ?? '')").to(str)


def field_error(message: str | rx.Var[str]) -> rx.Component:
    return rx.cond(
        message != "",
        rx.text(message, size="1", color_scheme="red", weight="medium"),
        rx.fragment(),
    )


def labelled(
    label: str,
    control: rx.Component,
    field_id: str,
    error: str | rx.Var[str] = "",
    aside: rx.Component | None = None,
) -> rx.Component:
    """Label above the control, the field's message below it; `aside` sits right of the label."""
    label_row = rx.el.label(
        rx.text(label, size="2", weight="medium", as_="span"), html_for=field_id
    )
    if aside is not None:
        label_row = rx.hstack(label_row, aside, justify="between", align="center", width="100%")
    return rx.vstack(
        label_row,
        control,
        field_error(error),
        spacing="1",
        width="100%",
        align="stretch",
    )


def text_input(
    *,
    name: str,
    field_id: str,
    placeholder: str = "",
    type: InputType = "text",
    testid: str | None = None,
    on_blur: EventType[str] | None = None,
    default_value: str | rx.Var[str] | None = None,
    required: bool = False,
    max_length: int = TEXT_MAX_LENGTH,
    auto_complete: str | None = None,
    **props: Any,
) -> rx.Component:
    attrs: dict[str, Any] = {"data-testid": testid} if testid else {}
    if on_blur is not None:
        props["on_blur"] = on_blur
    if default_value is not None:
        props["default_value"] = default_value
    if auto_complete is not None:
        props["auto_complete"] = auto_complete
    return rx.input(
        name=name,
        id=field_id,
        type=type,
        placeholder=placeholder,
        required=required,
        max_length=max_length,
        size="3",
        width="100%",
        custom_attrs=attrs,
        **props,
    )


def password_input(
    *,
    name: str,
    field_id: str,
    placeholder: str = "Password",
    testid: str | None = None,
    on_blur: EventType[str] | None = None,
    required: bool = False,
    toggle: bool = True,
    auto_complete: str = "current-password",
) -> rx.Component:
    """A password input; with `toggle`, a Show/Hide password button inside it."""
    assert not toggle or field_id in PASSWORD_FIELD_IDS, f"add {field_id!r} to PASSWORD_FIELD_IDS"
    shown = rx.Var.create(PasswordVisibilityState.shown).to(list[str]).contains(field_id)
    children: list[rx.Component] = []
    if toggle:
        children.append(
            rx.input.slot(
                rx.icon_button(
                    rx.cond(shown, rx.icon("eye-off", size=16), rx.icon("eye", size=16)),
                    type="button",
                    variant="ghost",
                    color_scheme="gray",
                    size="1",
                    aria_label=rx.cond(shown, "Hide password", "Show password"),
                    on_click=PasswordVisibilityState.toggle(field_id),
                ),
                side="right",
            )
        )
    props: dict[str, Any] = {"on_blur": on_blur} if on_blur is not None else {}
    return rx.input(
        *children,
        name=name,
        id=field_id,
        type=rx.cond(shown, "text", "password") if toggle else "password",
        placeholder=placeholder,
        required=required,
        max_length=PASSWORD_MAX_LENGTH,
        size="3",
        width="100%",
        auto_complete=auto_complete,
        custom_attrs={"data-testid": testid} if testid else {},
        **props,
    )


def email_field(error: str | rx.Var[str], on_blur: EventType[str] | None = None) -> rx.Component:
    """The public pages' Email field (id `email`, test id `email-input`)."""
    return labelled(
        "Email",
        text_input(
            name="email",
            field_id="email",
            type="email",
            placeholder="user@example.com",
            testid="email-input",
            on_blur=on_blur,
            auto_complete="email",
        ),
        "email",
        error,
    )


def password_field(
    label: str,
    name: str,
    error: str | rx.Var[str],
    *,
    on_blur: EventType[str] | None = None,
    placeholder: str = "Password",
    auto_complete: str = "new-password",
    aside: rx.Component | None = None,
) -> rx.Component:
    """A public page's password field: id `name`, test id `name-input` with dashes."""
    return labelled(
        label,
        password_input(
            name=name,
            field_id=name,
            placeholder=placeholder,
            testid=f"{name.replace('_', '-')}-input",
            on_blur=on_blur,
            auto_complete=auto_complete,
        ),
        name,
        error,
        aside=aside,
    )


def confirm_password_field(
    error: str | rx.Var[str], check: Callable[..., Any], password_field_id: str
) -> rx.Component:
    """ "Confirm Password", checked on blur against what the password field holds."""
    return password_field(
        "Confirm Password",
        "confirm_password",
        error,
        on_blur=lambda value: check(value, field_value(password_field_id)),
        placeholder="Confirm Password",
    )


def two_factor_code_field(
    field_id: str, error: str | rx.Var[str], testid: str = "", **props: Any
) -> rx.Component:
    """A code from an authenticator app (or a recovery code): the login's code step, and
    setting two-factor up or off."""
    return labelled(
        "Authentication code",
        text_input(
            name="code",
            field_id=field_id,
            placeholder="123456",
            testid=testid or f"{field_id}-input",
            auto_complete="one-time-code",
            max_length=TWO_FACTOR_CODE_MAX_LENGTH,
            **props,
        ),
        field_id,
        error,
    )


def submit_button(text: str, busy: bool | rx.Var[bool], **props: Any) -> rx.Component:
    """A form's submit button, busy while its request runs.

    It stays disabled until the page's on_load handlers ran: the prerendered page is
    clickable earlier, and a submit sent before them would be undone by their reset.
    """
    props.setdefault("size", "3")
    not_ready = ~rx.State.is_hydrated
    disabled = props.pop("disabled", None)
    props["disabled"] = not_ready if disabled is None else not_ready | disabled
    return rx.button(text, type="submit", loading=busy, **props)


def public_form(
    *fields: rx.Component,
    submit_label: str,
    busy: bool | rx.Var[bool],
    on_submit: Any,
) -> rx.Component:
    """A public page's form: its fields, then a full-width submit button."""
    return rx.form(
        rx.vstack(
            *fields,
            submit_button(submit_label, busy, width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=on_submit,
        width="100%",
    )


def sso_buttons(verb: str = "Continue") -> rx.Component:
    """A button per configured sign-on provider (OIDC_PROVIDERS), under a public form;
    nothing when there is none."""
    if not settings.OIDC_PROVIDERS:
        return rx.fragment()
    return rx.vstack(
        rx.hstack(
            rx.separator(size="4"),
            rx.text("or", size="2", color_scheme="gray"),
            rx.separator(size="4"),
            align="center",
            width="100%",
        ),
        *(
            # A link styled as a button; Reflex renders it as the router's link, which must
            # load the document: the API's URL (same origin) is no page of the UI.
            rx.button(
                rx.el.a(
                    f"{verb} with {provider.display_name}",
                    href=oidc.ui_login_url(provider.name),
                    custom_attrs={"data-testid": f"sso-{provider.name}", "reloadDocument": True},
                ),
                as_child=True,
                variant="outline",
                width="100%",
            )
            for provider in settings.OIDC_PROVIDERS
        ),
        spacing="3",
        width="100%",
    )


def switch_prompt(question: str, link_text: str, href: str) -> rx.Component:
    """The line under a public form that leads to its sibling page."""
    return rx.text(
        f"{question} ",
        rx.link(link_text, href=href, weight="medium"),
        size="2",
        color_scheme="gray",
        text_align="center",
        width="100%",
    )
