"""What `reflex run`'s dev hot reload watches: the code, not the files the app writes."""

import importlib

from reflex.utils.exec import get_reload_paths

from app.core.config import PROJECT_ROOT


def test_the_dev_backend_reloads_for_code_only() -> None:
    # rxconfig.py sets the paths as Reflex's `run` loads it; a test process loads it here.
    importlib.import_module("rxconfig")
    watched = set(get_reload_paths())
    assert watched == {PROJECT_ROOT / "app", PROJECT_ROOT / "assets", PROJECT_ROOT / "rxconfig.py"}
    # Above all not the SQLite files and locks beside the default app.db (each start
    # writes them, and the backend restarted itself after starting).
    assert not [path for path in watched if path.name.startswith("app.db")]
