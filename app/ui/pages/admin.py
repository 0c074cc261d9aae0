"""`/admin`: user accounts (superusers only), a page at a time, with add / edit / delete."""

import reflex as rx

from app.ui.components.dialogs import row_dialogs
from app.ui.components.forms import field_value, labelled, password_input, text_input
from app.ui.components.layout import PRIVATE_PAGE, app_shell, page_heading, page_title
from app.ui.components.row_actions import row_actions
from app.ui.components.table import ACTIONS_COLUMN, empty_state, paged_table, search_box
from app.ui.state.admin import AdminState, UserRow
from app.ui.state.auth import AuthState

COLUMNS = ("Full Name", "Email", "Role", "Status", ACTIONS_COLUMN)


def status(active: bool | rx.Var[bool]) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="8px",
            height="8px",
            border_radius="9999px",
            background=rx.cond(active, rx.color("grass", 9), rx.color("gray", 8)),
        ),
        rx.text(rx.cond(active, "Active", "Inactive"), size="2"),
        align="center",
        spacing="2",
    )


def user_row(user: UserRow) -> rx.Component:
    is_me = rx.Var.create(user.id) == AuthState.user.id
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    user.full_name != "",
                    rx.text(user.full_name, weight="medium"),
                    rx.text("N/A", color_scheme="gray"),
                ),
                rx.cond(is_me, rx.badge("You", variant="soft", radius="full"), rx.fragment()),
                align="center",
                spacing="2",
            )
        ),
        rx.table.cell(rx.text(user.email, color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                user.is_superuser,
                rx.badge("Superuser", variant="solid", color_scheme="teal"),
                rx.badge("User", variant="soft", color_scheme="gray"),
            )
        ),
        rx.table.cell(status(user.is_active)),
        rx.table.cell(
            rx.cond(
                is_me,
                rx.fragment(),
                row_actions(
                    "User actions",
                    [
                        ("Edit User", "pencil", AdminState.open_edit(user.id), "gray"),
                        ("End Sessions", "log-out", AdminState.end_sessions(user.id), "gray"),
                        ("Delete User", "trash-2", AdminState.open_delete(user.id), "red"),
                    ],
                ),
            ),
            text_align="right",
            width="48px",
        ),
        align="center",
    )


def checkbox(label: str, name: str, checked: bool | rx.Var[bool]) -> rx.Component:
    """A form checkbox: submitted as "on" when ticked, left out of the form data when not."""
    return rx.text(
        # Named itself too: axe does not count a wrapping <label> for a role="checkbox" button.
        rx.hstack(
            rx.checkbox(name=name, default_checked=checked, aria_label=label),
            label,
            spacing="2",
        ),
        as_="label",
        size="2",
    )


def user_fields(editing: bool) -> list[rx.Component]:
    selected = AdminState.selected
    return [
        labelled(
            "Email",
            text_input(
                name="email",
                field_id="user-email",
                type="email",
                placeholder="Email",
                required=True,
                default_value=selected.email if editing else "",
                on_blur=AdminState.check_email,
            ),
            "user-email",
            AdminState.email_error,
        ),
        labelled(
            "Full Name",
            text_input(
                name="full_name",
                field_id="user-full-name",
                placeholder="Full name",
                default_value=selected.full_name if editing else "",
            ),
            "user-full-name",
        ),
        labelled(
            "Set Password",
            password_input(
                name="password",
                field_id="user-password",
                required=not editing,
                toggle=False,
                auto_complete="new-password",
                on_blur=AdminState.check_changed_password
                if editing
                else AdminState.check_new_password,
            ),
            "user-password",
            AdminState.password_error,
        ),
        labelled(
            "Confirm Password",
            password_input(
                name="confirm_password",
                field_id="user-confirm-password",
                required=not editing,
                toggle=False,
                auto_complete="new-password",
                on_blur=lambda value: AdminState.check_confirm_password(
                    value, field_value("user-password")
                ),
            ),
            "user-confirm-password",
            AdminState.confirm_password_error,
        ),
        rx.hstack(
            checkbox("Is superuser?", "is_superuser", selected.is_superuser if editing else False),
            # Ticked for a new user, unlike the template's form: an account is made to be
            # used, and the API's own default (UserCreate.is_active) is True, so a quick
            # Save must not create one that cannot log in.
            checkbox("Is active?", "is_active", selected.is_active if editing else True),
            spacing="5",
            padding_top="4px",
        ),
    ]


def dialogs() -> rx.Component:
    return row_dialogs(
        AdminState,
        "User",
        add_description="Fill in the form below to add a new user to the system.",
        delete_description=(
            "All items associated with this user will also be permanently deleted. "
            "Are you sure? You will not be able to undo this action."
        ),
        fields=user_fields,
        create=AdminState.create,
        update=AdminState.update,
        delete=AdminState.delete,
    )


@rx.page(
    route="/admin",
    title=page_title("Admin"),
    description="Manage user accounts and permissions.",
    meta=PRIVATE_PAGE,
    on_load=AdminState.open_page,
)
def admin() -> rx.Component:
    # A normal user's load ends in a redirect home; until then they see a spinner only.
    return app_shell(
        rx.cond(AuthState.user.is_superuser, admin_content(), rx.center(rx.spinner(), width="100%"))
    )


def admin_content() -> rx.Component:
    return rx.vstack(
        page_heading(
            "Users",
            "Manage user accounts and permissions",
            rx.button(rx.icon("plus", size=16), "Add User", on_click=AdminState.set_add_open(True)),
        ),
        search_box(AdminState.search, AdminState.search_rows, "Search users"),
        rx.cond(
            AdminState.loaded & (AdminState.total == 0),
            # Only a search can come back empty: the caller is a user too.
            empty_state("search-x", "No users found", "No user matches your search"),
            paged_table(AdminState, COLUMNS, AdminState.users, user_row),
        ),
        dialogs(),
        spacing="5",
        width="100%",
    )
