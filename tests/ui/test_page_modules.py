"""Every module of app/ui/pages is imported by the package, so its pages are registered."""

import pkgutil
from pathlib import Path

from reflex_base.registry import RegistrationContext

import app.ui.pages


def test_every_page_module_registers_its_pages() -> None:
    folder = Path(app.ui.pages.__file__).parent
    modules = {f"app.ui.pages.{module.name}" for module in pkgutil.iter_modules([str(folder)])}
    registered = {
        render.__module__ for render, _ in RegistrationContext.ensure_context().decorated_pages
    }
    assert modules and registered == modules
