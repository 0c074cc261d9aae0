"""The UI's pages; importing this package registers every `@rx.page`."""

from app.ui.pages import (
    admin,
    dashboard,
    items,
    login,
    not_found,
    recover_password,
    reset_password,
    settings,
    signup,
)

__all__ = [
    "admin",
    "dashboard",
    "items",
    "login",
    "not_found",
    "recover_password",
    "reset_password",
    "settings",
    "signup",
]
