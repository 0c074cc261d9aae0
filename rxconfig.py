"""Reflex configuration, derived from the application's settings."""

import os
from pathlib import Path

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from app.core.config import settings
from app.ui.theme import radix_themes

# `reflex run` (dev mode) reloads the backend when a watched file changes, and by default
# it watches every file of the project root: the SQLite database's -wal and -shm files
# and its lock files change at each start, so a fresh dev backend restarted itself twice
# ("Killing worker-1 after it refused to gracefully stop"). Only the code reloads it.
# Set before Reflex reads it (its `run` loads this file first); a value of yours wins.
ROOT = Path(__file__).resolve().parent
os.environ.setdefault(
    "REFLEX_HOT_RELOAD_OVERRIDE_PATHS",
    ":".join(str(ROOT / name) for name in ("app", "assets", "rxconfig.py")),
)

config = rx.Config(
    app_name="app",
    # Every Reflex backend route (/_event, /ping, /_health, /_upload) lives under
    # /api, so one proxy rule `/api/* -> backend` serves the UI and the REST API.
    backend_path="/api",
    db_url=settings.database_url,
    redis_url=settings.REDIS_URL,
    # Despite the name, the disk and memory state managers expire by it too.
    redis_token_expiration=settings.STATE_EXPIRY_SECONDS,
    # The websocket's client address (rate limits) by the same rule as the REST API's.
    trusted_proxy_hops=settings.REFLEX_TRUSTED_PROXY_HOPS,
    # Local runs are reached as localhost, 127.0.0.1 or a LAN address; deployments
    # only accept their own origins.
    cors_allowed_origins=["*"] if settings.ENVIRONMENT == "local" else settings.all_cors_origins,
    telemetry_enabled=False,
    # Brotli sidecars next to gzip's: the one-port server picks the best the browser
    # accepts (brotli first); nginx (docker/nginx) serves the gzip ones.
    frontend_compression_formats=["brotli", "gzip"],
    show_built_with_reflex=False,
    disable_plugins=[SitemapPlugin],
    # The UI's theme, with the CSS of the colours it uses only (app/ui/theme.py).
    plugins=[radix_themes()],
)
