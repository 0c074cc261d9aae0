"""Every pooled connection busy past the wait budget: a retryable 503, then recovery."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.core.config import settings
from app.db import create_async_engine
from tests.conftest import Account

API = settings.API_V1_STR
DETAIL = "The database is unavailable, please try again later"

# The PostgreSQL connection pool (app/db/pool.py); SQLite has no pool to exhaust.
pytestmark = pytest.mark.postgres


@pytest.fixture
async def one_connection_pool(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    """The app's own engine factory and pool class, sized by the settings to one
    connection and a one-second wait, serving every session the routes open."""
    monkeypatch.setattr(settings, "DB_POOL_SIZE", 1)
    monkeypatch.setattr(settings, "DB_MAX_OVERFLOW", 0)
    monkeypatch.setattr(settings, "DB_POOL_TIMEOUT", 1)
    engine = create_async_engine(settings.async_database_url)
    read_only = engine.execution_options(isolation_level="AUTOCOMMIT")
    for name, bound in {
        "SessionMaker": engine,
        "ReadOnlySessionMaker": read_only,
        "ReplicaSessionMaker": read_only,
    }.items():
        maker = async_sessionmaker(bound, class_=AsyncSession, expire_on_commit=False)
        monkeypatch.setattr(db, name, maker)
    monkeypatch.setattr(db, "engine", engine)  # the caller lookup's pool (app.db.rows)
    monkeypatch.setattr(db, "replica_engine", engine)  # no replica: it is the primary
    yield engine
    await engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{API}/users/me", None),
        ("GET", f"{API}/items/", None),
        ("POST", f"{API}/users/signup", {"email": "pool@example.com", "password": "12345678"}),
    ],
)
async def test_an_exhausted_pool_answers_503_with_retry_after(
    client: httpx.AsyncClient,
    normal_user: Account,
    one_connection_pool: AsyncEngine,
    method: str,
    path: str,
    body: dict[str, str] | None,
) -> None:
    async with one_connection_pool.connect() as held:
        # Really checked out and in use, as a slow request would hold it.
        await held.execute(text("SELECT 1"))
        busy = await client.request(method, path, headers=normal_user.headers, json=body)
    assert busy.status_code == 503, busy.text
    assert busy.json() == {"detail": DETAIL}
    assert busy.headers["retry-after"] == "5"
    # The connection is back: the same request now goes through.
    again = await client.request(method, path, headers=normal_user.headers, json=body)
    assert again.status_code == 200, again.text
