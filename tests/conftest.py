"""Fixtures shared by every test: an isolated migrated database, clients and users.

The environment is fixed here, before `app` is imported, because settings are read
once at import time (as in production).
"""

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from tests.database import create_test_database, drop_test_database

pytest_plugins = ["tests.skip_policy"]

# tests/containers builds images and runs containers (scripts/containers/test.sh, its own
# CI step): the ordinary suite leaves it out unless CONTAINER_TESTS=1. tests/k8s (the Helm
# chart, scripts/k8s/test.sh, its own step too) likewise unless K8S_TESTS=1.
collect_ignore = [
    folder
    for folder, variable in (("containers", "CONTAINER_TESTS"), ("k8s", "K8S_TESTS"))
    if os.environ.get(variable) != "1"
]

# What app/services/rate_limits.py counts (RATE_LIMIT_<name> settings).
RATE_LIMITED = (
    "LOGIN_FAILURES_PER_ACCOUNT",
    "LOGIN_FAILURES_PER_ADDRESS",
    "RECOVERY_PER_ADDRESS",
    "RECOVERY_PER_EMAIL",
    "SIGNUPS_PER_ADDRESS",
    "TEST_EMAILS_PER_ADDRESS",
    "VERIFICATION_EMAILS_PER_ACCOUNT",
    "SSO_STARTS_PER_ADDRESS",
)

TEST_DATABASE_URL = create_test_database(os.environ.get("TEST_DATABASE_URL"))
os.environ.update(
    {
        "ENVIRONMENT": "local",
        "DATABASE_URL": TEST_DATABASE_URL,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "FIRST_SUPERUSER": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": "admin-password-for-tests",
        # Cost 12 is the default and is tested on its own; the rest stay fast.
        "BCRYPT_ROUNDS": "4",
        "EMAIL_BACKEND": "console",
        "FRONTEND_HOST": "http://localhost:3000",
        # Limits on, so every test walks through them, but far above what any test or
        # backend started by the tests sends; the limits' own tests use the defaults.
        **{f"RATE_LIMIT_{name}": "100000/minute" for name in RATE_LIMITED},
    }
)
for name in (
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "SMTP_HOST",
    "RESEND_API_KEY",
    "SENTRY_DSN",
    "RATE_LIMITS_ENABLED",
    "REQUIRE_EMAIL_VERIFICATION",
    "CONFIRM_EMAIL_CHANGES",
    "REFLEX_TRUSTED_PROXY_HOPS",
):
    os.environ.pop(name, None)

import httpx  # noqa: E402
from sqlalchemy import delete  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from app.api.main import api  # noqa: E402
from app.core.config import Settings, settings  # noqa: E402
from app.db import SessionMaker, dispose_engines  # noqa: E402
from app.emails.sending import wait_for_pending_emails  # noqa: E402
from app.models import UserCreate  # noqa: E402
from app.prestart import migrate  # noqa: E402
from app.services import rate_limits, users  # noqa: E402
from devtools import oidc as local_oidc  # noqa: E402
from tests.factories import random_email, random_lower_string  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """Migrate the run's database to head (the same path production takes)."""
    migrate(TEST_DATABASE_URL)
    yield TEST_DATABASE_URL
    drop_test_database(TEST_DATABASE_URL)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A second, empty database of the run's kind (not migrated), dropped afterwards."""
    url = create_test_database(os.environ.get("TEST_DATABASE_URL"))
    yield url
    drop_test_database(url)


@pytest.fixture(scope="session", autouse=True)
async def engines() -> AsyncIterator[None]:
    yield
    await dispose_engines()


@pytest.fixture(autouse=True)
async def clean_tables() -> AsyncIterator[None]:
    """Each test starts from empty tables, whatever the previous one did."""
    yield
    await wait_for_pending_emails()
    async with SessionMaker() as session:
        # Every entity's rows, dependents first (a generated entity's too); the counter
        # tables (no id) follow through their triggers.
        for table in reversed(SQLModel.metadata.sorted_tables):
            if "id" in table.c:
                await session.exec(delete(table))
        await session.commit()


@pytest.fixture(autouse=True)
def rate_limiter(monkeypatch: pytest.MonkeyPatch) -> rate_limits.RateLimiter:
    """A fresh in-memory limiter per test: no test inherits another's counts."""
    limiter = rate_limits.RateLimiter.from_settings(settings)
    monkeypatch.setattr(rate_limits, "limiter", limiter)
    return limiter


TEST_REDIS_URL = "redis://127.0.0.1:6379/0"
# The limits a deployment gets unless it sets its own.
DEFAULT_RATES = {
    limit: Settings.model_fields[f"RATE_LIMIT_{limit.name}"].default for limit in rate_limits.Limit
}


@pytest.fixture(params=["memory", "redis"])
async def default_limits(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[rate_limits.RateLimiter]:
    """The default limits in force, counted in memory or in the real Redis (keys under a
    prefix of this test's own, removed afterwards)."""
    redis_url = TEST_REDIS_URL if request.param == "redis" else None
    prefix = f"test-limits-{secrets.token_hex(6)}"
    limiter = rate_limits.RateLimiter(DEFAULT_RATES, redis_url=redis_url, key_prefix=prefix)
    monkeypatch.setattr(rate_limits, "limiter", limiter)
    yield limiter
    if redis_url:
        await limiter.storage.reset()
    await limiter.close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_oidc.LocalProvider]:
    """A real OpenID provider on loopback (devtools/oidc), one for the whole run."""
    from tests.skip_policy import unavailable  # a plugin: imported once pytest loaded it

    reason = local_oidc.missing()
    if reason:
        unavailable(reason)
    with local_oidc.local_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    async with SessionMaker() as session:
        yield session


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@dataclass
class Account:
    """A user created for a test, with what is needed to act as them."""

    id: int
    email: str
    password: str
    headers: dict[str, str]

    @property
    def token(self) -> str:
        """The access token of the account's login (its own session)."""
        return self.headers["Authorization"].removeprefix("Bearer ")


async def login_headers(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post(
        f"{settings.API_V1_STR}/login/access-token",
        data={"username": email, "password": password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def make_account(
    client: httpx.AsyncClient, session: AsyncSession, *, superuser: bool = False
) -> Account:
    email, password = random_email(), random_lower_string()
    user = await users.create_user(
        session, UserCreate(email=email, password=password, is_superuser=superuser)
    )
    assert user.id is not None
    return Account(user.id, email, password, await login_headers(client, email, password))


@pytest.fixture
async def superuser(client: httpx.AsyncClient, session: AsyncSession) -> Account:
    """The FIRST_SUPERUSER, as prestart creates it."""
    user = await users.ensure_first_superuser(session)
    assert user.id is not None
    password = settings.FIRST_SUPERUSER_PASSWORD
    headers = await login_headers(client, user.email, password)
    return Account(user.id, user.email, password, headers)


@pytest.fixture
async def normal_user(client: httpx.AsyncClient, session: AsyncSession) -> Account:
    return await make_account(client, session)


@pytest.fixture
async def other_user(client: httpx.AsyncClient, session: AsyncSession) -> Account:
    return await make_account(client, session)
