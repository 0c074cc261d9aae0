"""The UI's pages; importing this package registers every `@rx.page` of its modules.

Each module is imported by name, so a new page is a new module here and nothing else.
"""

import importlib
import pkgutil

__all__ = sorted(module.name for module in pkgutil.iter_modules(__path__))

for _name in __all__:
    importlib.import_module(f"{__name__}.{_name}")
