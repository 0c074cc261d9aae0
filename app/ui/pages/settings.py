"""`/settings`: My profile, Password, Two-factor, Sessions, Appearance and Danger zone tabs."""

from typing import Any

import reflex as rx
from reflex.style import set_color_mode

from app.core.config import settings
from app.services import messages
from app.ui.components.dialogs import confirm_dialog
from app.ui.components.forms import (
    labelled,
    password_input,
    submit_button,
    text_input,
    two_factor_code_field,
)
from app.ui.components.layout import (
    PRIVATE_PAGE,
    app_shell,
    page_heading,
    page_title,
    send_verification_button,
)
from app.ui.components.table import ACTIONS_COLUMN, column_header
from app.ui.state.auth import AuthState
from app.ui.state.sessions import TAB as SESSIONS_TAB
from app.ui.state.sessions import SessionRow, SessionsState
from app.ui.state.settings import DeleteAccountState, PasswordState, ProfileState
from app.ui.state.sso import TAB as IDENTITIES_TAB
from app.ui.state.sso import IdentitiesState, IdentityRow
from app.ui.state.two_factor import TAB as TWO_FACTOR_TAB
from app.ui.state.two_factor import TwoFactorState

TABS = (
    ("profile", "My profile"),
    ("password", "Password"),
    (TWO_FACTOR_TAB, "Two-factor"),
    (SESSIONS_TAB, "Sessions"),
    # Only with sign-on providers configured (OIDC_PROVIDERS).
    *([(IDENTITIES_TAB, "Linked logins")] if settings.OIDC_PROVIDERS else []),
    ("appearance", "Appearance"),
    ("danger", "Danger zone"),
)


def section(title: str, *children: rx.Component, subtitle: str = "") -> rx.Component:
    return rx.vstack(
        rx.vstack(
            rx.heading(title, size="4", weight="medium", as_="h2"),
            rx.cond(
                subtitle != "", rx.text(subtitle, size="2", color_scheme="gray"), rx.fragment()
            ),
            spacing="1",
        ),
        *children,
        spacing="4",
        width="100%",
        max_width="28rem",
        padding_top="24px",
    )


def read_only(label: str, value: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        value,
        spacing="1",
    )


def profile_tab() -> rx.Component:
    user = AuthState.user
    view = rx.vstack(
        read_only(
            "Full name",
            rx.cond(
                user.full_name != "",
                rx.text(user.full_name, size="2"),
                # Not the template's "N/A": the field is simply empty, and can be filled.
                rx.text("Not set", size="2", color_scheme="gray"),
            ),
        ),
        read_only(
            "Email",
            rx.hstack(
                rx.text(user.email, size="2"),
                rx.cond(
                    user.email_verified,
                    rx.badge("Verified", color_scheme="green", variant="soft"),
                    rx.fragment(
                        rx.badge("Not verified", color_scheme="amber", variant="soft"),
                        send_verification_button("Send verification email", "ghost"),
                    ),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
        ),
        rx.cond(
            user.pending_email != "",
            rx.callout(
                rx.text(
                    "Changing to ",
                    rx.text.strong(user.pending_email),
                    ": follow the link we sent there to confirm it.",
                ),
                icon="mail",
                size="1",
                custom_attrs={"data-testid": "pending-email"},
            ),
            rx.fragment(),
        ),
        rx.button("Edit", variant="outline", on_click=ProfileState.start_editing),
        spacing="4",
        align="start",
    )
    edit = rx.form(
        rx.vstack(
            labelled(
                "Full name",
                text_input(
                    name="full_name",
                    field_id="profile-full-name",
                    value=ProfileState.full_name_draft,
                    on_change=ProfileState.set_full_name_draft,
                    max_length=30,
                ),
                "profile-full-name",
            ),
            labelled(
                "Email",
                text_input(
                    name="email",
                    field_id="profile-email",
                    type="email",
                    value=ProfileState.email_draft,
                    on_change=ProfileState.set_email_draft,
                    on_blur=ProfileState.check_email,
                ),
                "profile-email",
                ProfileState.email_error,
            ),
            rx.hstack(
                submit_button(
                    "Save", ProfileState.saving, disabled=~ProfileState.changed, size="2"
                ),
                rx.button(
                    "Cancel",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=ProfileState.cancel_editing,
                    disabled=ProfileState.saving,
                ),
                spacing="3",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=ProfileState.save,
        width="100%",
    )
    return section("User Information", rx.cond(ProfileState.editing, edit, view))


def password_tab() -> rx.Component:
    def field(label: str, name: str, field_id: str, error: str) -> rx.Component:
        return labelled(
            label,
            password_input(
                name=name,
                field_id=field_id,
                placeholder="••••••••",
                testid=f"{field_id}-input",
                auto_complete="current-password" if name == "current_password" else "new-password",
            ),
            field_id,
            error,
        )

    return section(
        "Change Password",
        rx.form(
            rx.vstack(
                field(
                    "Current Password",
                    "current_password",
                    "current-password",
                    PasswordState.current_password_error,
                ),
                field(
                    "New Password", "new_password", "new-password", PasswordState.new_password_error
                ),
                field(
                    "Confirm Password",
                    "confirm_password",
                    "confirm-password",
                    PasswordState.confirm_password_error,
                ),
                submit_button("Update Password", PasswordState.saving, size="2"),
                spacing="4",
                width="100%",
                align="start",
            ),
            on_submit=PasswordState.change_password,
            width="100%",
        ),
    )


def recovery_codes_view() -> rx.Component:
    """Right after turning two-factor on: the codes, this once."""
    return rx.vstack(
        rx.callout(
            "Save these recovery codes somewhere safe. Each logs you in once if you lose "
            "your authenticator; they are not shown again.",
            icon="key-round",
            color_scheme="amber",
            size="1",
        ),
        rx.code(
            rx.foreach(TwoFactorState.recovery_codes, lambda code: rx.text(code, as_="div")),
            custom_attrs={"data-testid": "recovery-codes"},
            style={"display": "block", "padding": "12px 16px", "line_height": "1.8"},
        ),
        rx.hstack(
            rx.button(
                rx.icon("copy", size=16),
                "Copy codes",
                variant="outline",
                on_click=[
                    rx.set_clipboard(TwoFactorState.recovery_text),
                    rx.toast.success("Recovery codes copied"),
                ],
            ),
            rx.button("Done", on_click=TwoFactorState.hide_recovery_codes),
            spacing="3",
        ),
        spacing="4",
        align="start",
        width="100%",
    )


def two_factor_setup_view() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(
                "Scan this QR code with an authenticator app (or type the key in), then "
                "enter the code it shows.",
                size="2",
            ),
            rx.image(
                src=TwoFactorState.qr_src,
                alt="QR code of the two-factor key",
                width="200px",
                height="200px",
            ),
            read_only(
                "Key",
                rx.code(TwoFactorState.secret, custom_attrs={"data-testid": "two-factor-secret"}),
            ),
            two_factor_code_field("two-factor-code", TwoFactorState.code_error),
            rx.hstack(
                submit_button("Turn on", TwoFactorState.busy, size="2"),
                rx.button(
                    "Cancel",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=TwoFactorState.cancel_setup,
                ),
                spacing="3",
            ),
            spacing="4",
            align="start",
            width="100%",
        ),
        on_submit=TwoFactorState.confirm_setup,
        width="100%",
    )


def two_factor_off_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.badge("On", color_scheme="green", variant="soft"),
            rx.text("To turn it off, enter your password and a code.", size="2"),
            labelled(
                "Password",
                password_input(
                    name="password",
                    field_id="two-factor-off-password",
                    testid="two-factor-off-password-input",
                    toggle=False,
                ),
                "two-factor-off-password",
                TwoFactorState.password_error,
            ),
            two_factor_code_field("two-factor-off-code", TwoFactorState.code_error),
            submit_button("Turn off", TwoFactorState.busy, size="2", color_scheme="red"),
            spacing="4",
            align="start",
            width="100%",
        ),
        on_submit=TwoFactorState.disable,
        width="100%",
    )


def two_factor_tab() -> rx.Component:
    return section(
        "Two-Factor Authentication",
        rx.cond(
            TwoFactorState.showing_codes,
            recovery_codes_view(),
            rx.cond(
                AuthState.user.two_factor_enabled,
                two_factor_off_form(),
                rx.cond(
                    TwoFactorState.secret != "",
                    two_factor_setup_view(),
                    rx.button(
                        "Set up two-factor authentication",
                        variant="outline",
                        loading=TwoFactorState.busy,
                        on_click=TwoFactorState.begin_setup,
                    ),
                ),
            ),
        ),
        subtitle="Ask for a code from an authenticator app at each login, after the password.",
    )


def mode_choice(label: str, mode: str, icon: str) -> rx.Component:
    chosen = rx.color_mode == mode
    return rx.el.button(
        rx.vstack(
            rx.icon(icon, size=20),
            rx.text(label, size="2", weight="medium"),
            align="center",
            spacing="2",
        ),
        type="button",
        on_click=set_color_mode(mode),  # type: ignore[arg-type]
        aria_pressed=rx.cond(chosen, "true", "false"),
        custom_attrs={"data-testid": f"appearance-{mode}"},
        style={
            "flex": "1",
            "cursor": "pointer",
            "padding": "16px 12px",
            "border_radius": "var(--radius-3)",
            "border": rx.cond(
                chosen, f"2px solid {rx.color('accent', 9)}", f"1px solid {rx.color('gray', 6)}"
            ),
            "background": rx.cond(chosen, rx.color("accent", 2), rx.color("gray", 1)),
            "color": rx.color("gray", 12),
        },
    )


def appearance_tab() -> rx.Component:
    return section(
        "Appearance",
        rx.hstack(
            mode_choice("Light", "light", "sun"),
            mode_choice("Dark", "dark", "moon"),
            mode_choice("System", "system", "monitor"),
            spacing="3",
            width="100%",
        ),
        subtitle="Choose how the app looks on this device. The choice is remembered here.",
    )


def row_button(
    label: str, busy: bool | rx.Var[bool], on_click: Any, aria_label: Any
) -> rx.Component:
    """The red button that ends or removes one row of a settings table."""
    return rx.button(
        label,
        variant="outline",
        color_scheme="red",
        size="1",
        disabled=busy,
        on_click=on_click,
        aria_label=aria_label,
    )


def settings_table(columns: tuple[str, ...], rows: rx.Component) -> rx.Component:
    """A settings tab's table: `columns`, then the row actions' column."""
    return rx.table.root(
        rx.table.header(
            rx.table.row(*(column_header(name) for name in (*columns, ACTIONS_COLUMN)))
        ),
        rx.table.body(rows),
        width="100%",
        max_width="48rem",
    )


def session_row(row: SessionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.hstack(
                    rx.text(row.device, weight="medium", size="2"),
                    rx.cond(
                        row.current,
                        rx.badge("This device", variant="soft", color_scheme="green"),
                        rx.fragment(),
                    ),
                    spacing="2",
                    align="center",
                ),
                rx.text(row.address, size="1", color_scheme="gray"),
                spacing="1",
                title=row.user_agent,
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(row.last_active, size="2"),
                rx.text("Signed in " + row.started, size="1", color_scheme="gray"),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.cond(
                row.current,
                rx.fragment(),
                row_button(
                    "Revoke",
                    SessionsState.ending,
                    SessionsState.revoke(row.id),
                    "Revoke the session of " + row.device + ", " + row.address,
                ),
            ),
            text_align="right",
        ),
        align="center",
        custom_attrs={"data-testid": "session-row"},
    )


def sessions_tab() -> rx.Component:
    return rx.vstack(
        section(
            "Sessions",
            subtitle="Where your account is signed in. Revoke any session you don't recognise.",
        ),
        settings_table(("Device", "Last active"), rx.foreach(SessionsState.sessions, session_row)),
        rx.cond(
            SessionsState.more > 0,
            rx.text(
                "And ",
                rx.Var.create(SessionsState.more).to_string(),
                " more, used longer ago: signing out of all other sessions ends them too.",
                size="2",
                color_scheme="gray",
            ),
            rx.fragment(),
        ),
        rx.button(
            "Sign out of all other sessions",
            variant="outline",
            color_scheme="red",
            loading=SessionsState.ending,
            on_click=SessionsState.sign_out_others,
        ),
        spacing="4",
        width="100%",
    )


def identity_row(row: IdentityRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.display_name, weight="medium", size="2")),
        rx.table.cell(rx.text(row.email, size="2")),
        rx.table.cell(rx.text(row.linked, size="2")),
        rx.table.cell(
            row_button(
                "Unlink",
                IdentitiesState.unlinking,
                IdentitiesState.unlink(row.provider),
                "Unlink " + row.display_name,
            ),
            text_align="right",
        ),
        align="center",
        custom_attrs={"data-testid": "identity-row"},
    )


def identities_tab() -> rx.Component:
    return rx.vstack(
        section(
            "Linked logins",
            subtitle="Providers you can log in with. Log in with one from the login page "
            "to link it.",
        ),
        rx.cond(
            IdentitiesState.linked > 0,
            settings_table(
                ("Provider", "Email", "Linked"),
                rx.foreach(IdentitiesState.identities, identity_row),
            ),
            rx.text("No linked logins.", size="2", color_scheme="gray"),
        ),
        rx.cond(
            IdentitiesState.has_password,
            rx.fragment(),
            rx.callout(
                "Your account has no password: keep at least one linked login, or set a "
                "password with password recovery before unlinking the last.",
                icon="info",
                color_scheme="gray",
                size="1",
            ),
        ),
        spacing="4",
        width="100%",
    )


def danger_tab() -> rx.Component:
    is_superuser = AuthState.user.is_superuser
    return section(
        "Delete Account",
        rx.cond(
            is_superuser,
            rx.callout(
                f"{messages.SUPERUSER_SELF_DELETE}. Another superuser can remove this account "
                "from the Admin page.",
                icon="info",
                color_scheme="gray",
                size="1",
            ),
            rx.fragment(),
        ),
        rx.box(
            rx.button(
                # The template's words: its users' browser tests look for "Delete Account".
                "Delete Account",
                color_scheme="red",
                disabled=is_superuser,
                on_click=DeleteAccountState.set_confirm_open(True),
            )
        ),
        confirm_dialog(
            title="Confirmation Required",
            description=(
                "All your account data will be permanently deleted. If you are sure, "
                'please click "Delete" to proceed. This action cannot be undone.'
            ),
            is_open=DeleteAccountState.confirm_open,
            on_open_change=DeleteAccountState.set_confirm_open,
            on_confirm=DeleteAccountState.delete_account,
            busy=DeleteAccountState.deleting,
        ),
        subtitle="Permanently delete your account and all associated data.",
    )


@rx.page(
    route="/settings",
    title=page_title("Settings"),
    description="Your profile, password, two-factor login, sessions and appearance.",
    meta=PRIVATE_PAGE,
    on_load=ProfileState.open_page,
)
def settings_page() -> rx.Component:
    return app_shell(
        page_heading("User Settings", "Manage your account settings and preferences"),
        rx.tabs.root(
            rx.tabs.list(*(rx.tabs.trigger(label, value=value) for value, label in TABS)),
            rx.tabs.content(profile_tab(), value="profile"),
            rx.tabs.content(password_tab(), value="password"),
            rx.tabs.content(two_factor_tab(), value=TWO_FACTOR_TAB),
            rx.tabs.content(sessions_tab(), value=SESSIONS_TAB),
            rx.tabs.content(identities_tab(), value=IDENTITIES_TAB),
            rx.tabs.content(appearance_tab(), value="appearance"),
            rx.tabs.content(danger_tab(), value="danger"),
            default_value="profile",
            on_change=[SessionsState.open_tab, IdentitiesState.open_tab],
            width="100%",
        ),
    )
