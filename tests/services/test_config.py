"""Settings: defaults, precedence and the refusal of placeholder secrets."""

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from app.core.config import PROJECT_ROOT, Settings, local_secret_key

SAFE = {"SECRET_KEY": "a" * 40, "FIRST_SUPERUSER_PASSWORD": "a-real-password"}


def make(**values: Any) -> Settings:
    # No .env, and the variables conftest set for the test database are overridden.
    base: dict[str, Any] = {"DATABASE_URL": None, "EMAIL_BACKEND": None, **SAFE}
    return Settings(_env_file=None, **{**base, **values})


def test_defaults_match_the_contract() -> None:
    settings = make()
    assert settings.ACCESS_TOKEN_EXPIRE_MINUTES == 11520
    assert settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS == 48
    assert settings.API_V1_STR == "/api/v1"
    assert settings.SMTP_PORT == 587 and settings.SMTP_TLS and not settings.SMTP_SSL
    assert settings.EMAILS_FROM_NAME == settings.PROJECT_NAME


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("SECRET_KEY", {"SECRET_KEY": "changethis"}),
        ("FIRST_SUPERUSER_PASSWORD", {"FIRST_SUPERUSER_PASSWORD": "changethis"}),
        ("POSTGRES_PASSWORD", {"POSTGRES_PASSWORD": "changethis"}),
        ("DATABASE_URL password", {"DATABASE_URL": "postgresql://u:changethis@db/app"}),
    ],
)
def test_changethis_is_refused_outside_local(
    environment: str, name: str, values: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match=f'The value of {name} is "changethis"'):
        make(ENVIRONMENT=environment, **values)


def test_changethis_only_warns_in_local() -> None:
    with pytest.warns(UserWarning, match='SECRET_KEY is "changethis"'):
        make(SECRET_KEY="changethis")


def test_secret_key_is_required_outside_local() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY must be set"):
        make(ENVIRONMENT="production", SECRET_KEY="")


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_a_short_secret_key_is_refused_outside_local(environment: str) -> None:
    # One HS256 token is enough to search a short key offline, then forge any token.
    with pytest.raises(ValueError, match="at least 32 bytes"):
        make(ENVIRONMENT=environment, SECRET_KEY="x")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        make(ENVIRONMENT=environment, SECRET_KEY="a" * 31)
    assert make(ENVIRONMENT=environment, SECRET_KEY="a" * 32).SECRET_KEY == "a" * 32
    # Bytes, not characters: 11 three-byte characters are 33 bytes.
    assert make(ENVIRONMENT=environment, SECRET_KEY="€" * 11).SECRET_KEY == "€" * 11


def test_a_short_secret_key_is_allowed_locally() -> None:
    assert make(ENVIRONMENT="local", SECRET_KEY="x").SECRET_KEY == "x"


def test_local_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / ".secret_key"
    first = local_secret_key(path)
    assert len(first) >= 32
    assert local_secret_key(path) == first
    assert path.stat().st_mode & 0o077 == 0


def _race(path: str, queue: "multiprocessing.Queue[str]") -> None:
    queue.put(local_secret_key(Path(path)))


def test_concurrent_workers_agree_on_the_generated_key(tmp_path: Path) -> None:
    path = tmp_path / ".secret_key"
    queue: multiprocessing.Queue[str] = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_race, args=(str(path), queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    keys = {queue.get(timeout=5) for _ in workers}
    assert keys == {path.read_text().strip()}


def test_secret_file_is_git_ignored() -> None:
    assert ".secret_key" in (PROJECT_ROOT / ".gitignore").read_text().split()


def test_database_url_precedence() -> None:
    assert make(DATABASE_URL="postgres://u:p@h:5433/d").database_url == (
        "postgresql+psycopg://u:p@h:5433/d"
    )
    from_parts = make(
        POSTGRES_SERVER="db", POSTGRES_USER="me", POSTGRES_PASSWORD="p@ss", POSTGRES_DB="x"
    )
    assert from_parts.database_url == "postgresql+psycopg://me:p%40ss@db:5432/x"
    sqlite = make(SQLITE_PATH="data/app.db")
    assert sqlite.database_url == f"sqlite:///{PROJECT_ROOT / 'data/app.db'}"
    assert sqlite.async_database_url.startswith("sqlite+aiosqlite:///")
    replica = make(
        DATABASE_URL="postgresql://p@db/app", DATABASE_REPLICA_URL="postgresql://r@replica/app"
    )
    assert replica.async_replica_url == "postgresql+psycopg://r@replica/app"


def test_a_multi_host_url_names_each_member_as_a_host_parameter() -> None:
    # libpq's spelling (what scripts/dev/ha.sh and Patroni deployments print) cannot be
    # parsed by SQLAlchemy: it becomes one host=h:port per member, in the same order.
    members = "db1:5432,db2:5433,[::1]:5434"
    settings = make(
        ENVIRONMENT="production",
        DATABASE_URL=f"postgresql://u:p%40ss@{members}/app?target_session_attrs=read-write",
        DATABASE_REPLICA_URL=f"postgres://u@{members}/app?target_session_attrs=prefer-standby",
    )
    hosts = "host=db1:5432&host=db2:5433&host=[::1]:5434"
    assert settings.database_url == (
        f"postgresql+psycopg://u:p%40ss@/app?{hosts}&target_session_attrs=read-write"
    )
    assert settings.async_replica_url == (
        f"postgresql+psycopg://u@/app?{hosts}&target_session_attrs=prefer-standby"
    )
    assert make(DATABASE_URL="postgresql://u@a,b/app").database_url == (
        "postgresql+psycopg://u@/app?host=a&host=b"
    )


def test_cors_origins_accept_lists_and_comma_separated_strings() -> None:
    settings = make(
        BACKEND_CORS_ORIGINS="http://a.example.com/, http://b.example.com",
        FRONTEND_HOST="http://front.example.com",
    )
    assert settings.all_cors_origins == [
        "http://a.example.com",
        "http://b.example.com",
        "http://front.example.com",
    ]
    assert make(BACKEND_CORS_ORIGINS='["http://c.example.com"]').all_cors_origins[0] == (
        "http://c.example.com"
    )


def test_email_backend_selection() -> None:
    assert make().email_backend == "console"
    assert make(SMTP_HOST="mail").email_backend == "smtp"
    assert make(SMTP_HOST="mail", RESEND_API_KEY="re_x").email_backend == "resend"
    assert make(RESEND_API_KEY="re_x", EMAIL_BACKEND="smtp").email_backend == "smtp"
    assert not make().emails_enabled
    assert make(SMTP_HOST="mail", EMAILS_FROM_EMAIL="info@example.com").emails_enabled


@pytest.mark.parametrize("rate", ["10/minute", "10 per 15 minutes", "3/hour"])
def test_rate_limits_are_rates(rate: str) -> None:
    settings = make(RATE_LIMIT_SIGNUPS_PER_ADDRESS=rate)
    assert rate == settings.RATE_LIMIT_SIGNUPS_PER_ADDRESS


@pytest.mark.parametrize("rate", ["10", "ten per minute", "10/fortnight", ""])
def test_a_rate_limit_that_is_not_a_rate_stops_the_app(rate: str) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        make(RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT=rate)


def test_proxy_hops_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        make(REFLEX_TRUSTED_PROXY_HOPS=-1)


def test_the_read_your_writes_window_must_cover_the_allowed_lag() -> None:
    assert (
        make(REPLICA_MAX_LAG_SECONDS="3", REPLICA_LAG_CHECK_SECONDS="1.5").REPLICA_MAX_LAG_SECONDS
        == 3
    )
    with pytest.raises(ValueError, match="must be less than REPLICA_READ_YOUR_WRITES_SECONDS"):
        make(REPLICA_MAX_LAG_SECONDS="4", REPLICA_LAG_CHECK_SECONDS="1")
    with pytest.raises(ValueError, match="REPLICA_CONNECT_TIMEOUT"):
        make(REPLICA_CONNECT_TIMEOUT="1")


def test_a_read_replica_needs_postgresql_on_both_sides() -> None:
    pg = "postgresql://u@db/app"
    replica = make(DATABASE_URL=pg, DATABASE_REPLICA_URL="postgres://u@replica/app")
    assert replica.async_replica_url == "postgresql+psycopg://u@replica/app"
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URL is not PostgreSQL"):
        make(DATABASE_URL=pg, DATABASE_REPLICA_URL="sqlite:///replica.db")
    with pytest.raises(ValueError, match="The primary database is not PostgreSQL"):
        make(SQLITE_PATH="app.db", DATABASE_REPLICA_URL=pg)
