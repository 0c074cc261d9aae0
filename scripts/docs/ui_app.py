"""The app in prod mode on a throwaway seeded SQLite database, for the screenshots of docs/ui.md.

Imported by scripts/docs/screenshots.py (run it from the project root with .venv/bin/python;
bench/ui.py measures the UI's timings). Importing this module points the settings at a new database
in a temporary folder, so it must come before anything that imports `app`.
"""

import atexit
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="fsr-ui-"))
# The database and the build (node_modules included) go away with the script.
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
# Settings are read once at import: the throwaway database and secret come first.
os.environ.update(
    {
        "ENVIRONMENT": "local",
        "DATABASE_URL": f"sqlite:///{WORK / 'app.db'}",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "FIRST_SUPERUSER": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": "throwaway-demo-password",
        "BCRYPT_ROUNDS": "4",
        "EMAIL_BACKEND": "console",
    }
)
for name in ("DATABASE_REPLICA_URL", "REDIS_URL", "SMTP_HOST", "RESEND_API_KEY"):
    os.environ.pop(name, None)

from sqlalchemy import update  # noqa: E402
from sqlmodel import col  # noqa: E402

from app.db import dispose_engines, session_scope  # noqa: E402
from app.models import ItemCreate, UserCreate, UserSession, UserUpdateMe, utcnow  # noqa: E402
from app.prestart import migrate  # noqa: E402
from app.services import auth, items, sessions, users  # noqa: E402
from devtools.servers import (  # noqa: E402
    ServerNotReady,
    free_port,
    reflex_prod,
    start_logged,
    stop_process_group,
    tool_path,
    wait_until_ok,
)

PEOPLE = [
    ("Grace Hopper", "grace@example.com", False, True),
    ("Alan Turing", "alan@example.com", False, True),
    ("Katherine Johnson", "katherine@example.com", True, True),
    (None, "intern@example.com", False, False),
    ("Linus Pauling", "linus@example.com", False, True),
]
ITEMS = [
    ("Quarterly report", "Numbers for the board meeting in March"),
    ("Onboarding checklist", "Accounts, laptop and a buddy for new hires"),
    ("Office plants", None),
    ("Release 2.4 notes", "Highlights: faster search, dark mode, CSV export"),
    ("Customer interview #12", "Pain points around invoicing"),
    ("Team offsite", "Venue shortlist and budget"),
    ("Security review", "Rotate keys and review access lists"),
    ("Design tokens", "Spacing, radius and colour scales"),
    ("Hiring plan", None),
    ("Backlog grooming", "Top 20 tickets for the next sprint"),
    ("API deprecation", "Sunset /v0 endpoints by June"),
    ("Coffee machine", "Descale every two weeks"),
]


async def seed_demo(extra_items: int = 0) -> tuple[int, int]:
    """Migrate, then a named superuser with items and a few other accounts.

    Returns the superuser's and a normal user's ids. `extra_items` more items (for
    timings) go to the superuser, created before the named ones.
    """
    migrate(os.environ["DATABASE_URL"])
    async with session_scope() as session:
        admin = await users.ensure_first_superuser(session)
        admin = await users.update_me(session, admin, UserUpdateMe(full_name="Alex Morgan"))
        for full_name, email, superuser, active in PEOPLE:
            person = UserCreate(
                email=email,
                password="throwaway-demo-password",
                full_name=full_name,
                is_superuser=superuser,
                is_active=active,
            )
            await users.create_user(session, person)
        for number in range(extra_items):
            item = ItemCreate(title=f"Archived item {number + 1}", description="Seeded in bulk")
            await items.create_item(session, admin, item)
        # Three rounds of the list, oldest first: the table has a few pages.
        for round_number in range(3):
            for title, description in ITEMS:
                label = title if round_number == 2 else f"{title} ({2024 + round_number})"
                await items.create_item(
                    session, admin, ItemCreate(title=label, description=description)
                )
        normal = await users.get_user_by_email(session, "grace@example.com")
        assert admin.id is not None and normal is not None and normal.id is not None
        admin_id, normal_id = admin.id, normal.id
    await dispose_engines()
    return admin_id, normal_id


# Where the demo superuser is signed in besides the browser taking the pictures, and how
# many minutes ago each was last used.
DEMO_DEVICES = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "203.0.113.24",
        12,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "198.51.100.7",
        3 * 60,
    ),
    ("curl/8.5.0", "192.0.2.10", 2 * 24 * 60),
]
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


async def demo_sessions(user_id: int) -> str:
    """A few sessions of the user on other devices, then the browser's own: its token."""
    async with session_scope() as session:
        user = await users.get_user(session, user_id)
        assert user is not None
        for user_agent, address, minutes in DEMO_DEVICES:
            tokens = await sessions.start(session, user, user_agent=user_agent, ip_address=address)
            used = utcnow() - timedelta(minutes=minutes)
            session_id = (await auth.caller_from_access_token(tokens.access_token)).session_id
            await session.exec(
                update(UserSession)
                .where(col(UserSession.id) == session_id)
                .values(created_at=used, last_used_at=used)
            )
            await session.commit()
        tokens = await sessions.start(session, user, user_agent=BROWSER, ip_address="127.0.0.1")
    await dispose_engines()
    return tokens.access_token


@contextmanager
def running_app() -> Iterator[str]:
    """`reflex run --env prod` on a free port, in its own build folder; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PATH": tool_path(),
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_WEB_WORKDIR": str(WORK / "web"),
        "REFLEX_STATES_WORKDIR": str(WORK / "states"),
    }
    log = WORK / "reflex.log"
    process = start_logged(reflex_prod(port), env, log)
    # A SIGTERM (e.g. from `timeout`) must still stop the server: run the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        try:
            wait_until_ok(process, f"{url}/login", log, 300)
        except ServerNotReady as error:
            raise SystemExit(str(error)) from None
        yield url
    finally:
        stop_process_group(process)
