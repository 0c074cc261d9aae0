"""Typed settings: the only place the environment and `.env` are read."""

import json
import os
import secrets
import sys
import warnings
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import quote

import limits
from pydantic import (
    AfterValidator,
    AnyUrl,
    BaseModel,
    BeforeValidator,
    EmailStr,
    Field,
    HttpUrl,
    NonNegativeInt,
    ValidationError,
    computed_field,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Kept next to the project (and git-ignored) so a local run's tokens survive restarts.
LOCAL_SECRET_FILE = PROJECT_ROOT / ".secret_key"


def parse_origins(value: Any) -> list[str]:
    """Accept a comma-separated string as well as a JSON list."""
    if isinstance(value, str):
        if value.strip().startswith("["):
            value = json.loads(value)
        else:
            return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list):
        return [str(item) for item in value]
    raise ValueError(f"Expected a list of origins, got {value!r}")


def check_rate(value: str) -> str:
    """A rate in the `limits` library's notation ("10/minute", "10 per 15 minutes")."""
    try:
        limits.parse(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a rate: write it as '10/minute' or '10 per 15 minutes'"
        ) from None
    return value


Rate = Annotated[str, AfterValidator(check_rate)]


def local_secret_key(path: Path = LOCAL_SECRET_FILE) -> str:
    """Read the local development key, creating it once (safely across workers)."""
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    candidate = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    candidate.write_text(secrets.token_urlsafe(48))
    candidate.chmod(0o600)
    try:
        # link() fails if another process won the race; then its key is the key.
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)
    return path.read_text().strip()


def async_driver_url(url: str) -> str:
    """The same database through the async driver the services use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return url


# A sign-on provider's name: in URLs, and stored with every linked login.
PROVIDER_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class OidcProvider(BaseModel):
    """One OpenID Connect provider users may log in with (OIDC_PROVIDERS)."""

    # In the URLs (/api/v1/login/oidc/{name}) and stored with every linked account:
    # renaming a provider unlinks its accounts.
    name: str = Field(pattern=PROVIDER_NAME_PATTERN)
    # What the "Continue with ..." buttons and Settings show.
    display_name: str = Field(min_length=1, max_length=64)
    # The issuer, exactly as the provider's ID tokens name it (`iss`); its
    # /.well-known/openid-configuration is read once per process.
    issuer: str = Field(pattern=r"^https?://[^\s]+$")
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    scopes: str = "openid email profile"
    # Whether a login by someone without an account (and whose address no account
    # has) creates one. False: only accounts already linked, or linked by password.
    allow_signup: bool = True


# RFC 7518 (3.2): an HS256 key is at least as long as the hash, 256 bits.
MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_ignore_empty=True, extra="ignore"
    )

    ENVIRONMENT: Literal["local", "staging", "production"] = "local"
    PROJECT_NAME: str = "Full Stack Reflex"
    API_V1_STR: str = "/api/v1"
    SECRET_KEY: str = ""
    # 60 minutes * 24 hours * 8 days = 8 days, the template's: every request checks the
    # token's session, so a logout or a revocation ends it at once however long it has
    # left, and the template's frontend (which never refreshes) stays signed in.
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=60 * 24 * 8, ge=1)
    # A session (one login) ends after this long unused, and this long after it began
    # whatever its use; refreshing never extends the second.
    SESSION_IDLE_TIMEOUT_MINUTES: int = Field(default=60 * 24 * 14, ge=5)
    SESSION_ABSOLUTE_TIMEOUT_DAYS: int = Field(default=30, ge=1)
    # Open sessions per user; a login past it ends the one unused longest. High enough
    # that no burst of logins (a test suite's, a fleet of scripts') reaches a session in
    # use, whose last use is written once a minute; low enough to bound the rows.
    MAX_SESSIONS_PER_USER: int = Field(default=1000, ge=1, le=100000)
    # How long a browser or client that logged in stays a known device (exempt from
    # the account's lockout, see RATE_LIMIT_LOGIN_FAILURES_PER_DEVICE).
    DEVICE_TOKEN_EXPIRE_DAYS: int = Field(default=365, ge=1)
    EMAIL_RESET_TOKEN_EXPIRE_HOURS: int = 48
    # How long a link mailed to confirm an address works.
    EMAIL_VERIFY_TOKEN_EXPIRE_HOURS: int = Field(default=48, ge=1)
    # True: an account whose address is not verified can log in, but do nothing else
    # than verify it, ask for a new link, log out and delete itself. False (the
    # template's behaviour): `email_verified` is only reported.
    REQUIRE_EMAIL_VERIFICATION: bool = False
    # True: a user's new address (PATCH /users/me, the profile) waits as `pending_email`
    # until the link mailed there is followed. False (the template's behaviour): it
    # changes at once, unverified, and a verification link is mailed there. The old
    # address is told either way.
    CONFIRM_EMAIL_CHANGES: bool = False
    BCRYPT_ROUNDS: int = 12
    FRONTEND_HOST: str = "http://localhost:3000"
    # The project's pages on GitHub, X and LinkedIn, linked from the footer; each link
    # shows only when set (the sites' home pages would tell a visitor nothing).
    SOCIAL_GITHUB_URL: HttpUrl | None = None
    SOCIAL_X_URL: HttpUrl | None = None
    SOCIAL_LINKEDIN_URL: HttpUrl | None = None
    BACKEND_CORS_ORIGINS: Annotated[list[AnyUrl], NoDecode, BeforeValidator(parse_origins)] = []
    # Largest request body the REST API reads (bytes); larger ones are answered 413
    # before they are parsed. The biggest legitimate body is a few KB of JSON.
    MAX_REQUEST_BODY_BYTES: int = Field(default=1024 * 1024, ge=0)

    FIRST_SUPERUSER: EmailStr = "admin@example.com"
    FIRST_SUPERUSER_PASSWORD: str = "changethis"
    EMAIL_TEST_USER: EmailStr = "test@example.com"

    DATABASE_URL: str | None = None
    POSTGRES_SERVER: str | None = None
    POSTGRES_PORT: int = 5432
    POSTGRES_USER: str = "postgres"
    POSTGRES_PASSWORD: str = ""
    POSTGRES_DB: str = "app"
    SQLITE_PATH: str = "app.db"
    DATABASE_REPLICA_URL: str | None = None
    # With a replica: a caller's reads go to the primary for this long after its writes
    # (read-your-writes), and everyone's while the replica's replay lag is above
    # REPLICA_MAX_LAG_SECONDS (probed once per REPLICA_LAG_CHECK_SECONDS per process).
    # A replica that fails is left alone for REPLICA_RETRY_SECONDS; connecting to it
    # gives up after REPLICA_CONNECT_TIMEOUT seconds (libpq counts 2 at least).
    REPLICA_READ_YOUR_WRITES_SECONDS: float = Field(default=5.0, gt=0)
    REPLICA_MAX_LAG_SECONDS: float = Field(default=2.0, ge=0)
    REPLICA_LAG_CHECK_SECONDS: float = Field(default=1.0, gt=0)
    REPLICA_RETRY_SECONDS: float = Field(default=5.0, gt=0)
    REPLICA_CONNECT_TIMEOUT: int = Field(default=2, ge=2)
    # Per worker process. Requests hold a connection only while they talk to the
    # database, so a small pool serves many concurrent requests; overflow
    # connections would be opened and closed under load, which costs more.
    DB_POOL_SIZE: int = 10
    DB_MAX_OVERFLOW: int = 0
    DB_POOL_TIMEOUT: int = 30
    # An extra round trip on every checkout; without it, the first request on a
    # connection that died (database restart) answers 503 and the pool recovers.
    DB_POOL_PRE_PING: bool = False
    DB_WAIT_SECONDS: int = 60

    REDIS_URL: str | None = None
    # Live tables: every committed write tells every backend process (through Redis
    # pub/sub with REDIS_URL, else within the process), and the open Items and Admin
    # tables it concerns refresh themselves. Off: a write publishes nothing.
    LIVE_TABLES: bool = True
    # The Redis pub/sub channel of the notices: deployments sharing one Redis server
    # (channels ignore the database number) each need their own.
    LIVE_TABLES_CHANNEL: str = Field(default="full-stack-reflex:changes", min_length=1)
    # A table refreshes at most once per this many seconds, however many writes land.
    LIVE_REFRESH_SECONDS: float = Field(default=0.25, ge=0, le=10)
    # Reverse proxies in front of the backend (Traefik in the compose stack: 1). The
    # client address is taken from X-Forwarded-For only this many hops back; with 0
    # the header is ignored, since any client can send it. Reflex reads the same
    # variable for the websocket's client address (rxconfig.py passes it on too).
    REFLEX_TRUSTED_PROXY_HOPS: NonNegativeInt = 0

    # Rate limits, counted in fixed windows in Redis (REDIS_URL), shared by every
    # worker and replica, or in each process's memory without Redis.
    RATE_LIMITS_ENABLED: bool = True
    # Wrong passwords; a successful login does not count.
    RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: Rate = "10/15 minutes"
    # Higher than per account: offices and mobile networks share addresses.
    RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS: Rate = "50/15 minutes"
    # A login that sends a device token of the account (X-Device-Token) is counted per
    # device instead of the two above: a flood against the account or the address
    # never locks its owner out of a device they logged in from before.
    RATE_LIMIT_LOGIN_FAILURES_PER_DEVICE: Rate = "10/15 minutes"
    RATE_LIMIT_RECOVERY_PER_ADDRESS: Rate = "10/hour"
    RATE_LIMIT_RECOVERY_PER_EMAIL: Rate = "3/hour"
    RATE_LIMIT_SIGNUPS_PER_ADDRESS: Rate = "10/hour"
    RATE_LIMIT_TEST_EMAILS_PER_ADDRESS: Rate = "10/hour"
    # Verification mails an account asks for again (the one at sign-up is not counted).
    RATE_LIMIT_VERIFICATION_EMAILS_PER_ACCOUNT: Rate = "5/hour"
    # Sign-ons started (GET /api/v1/login/oidc/{provider}): each keeps a row until it
    # is used or expires, so what an address can make the database hold stays bounded.
    RATE_LIMIT_SSO_STARTS_PER_ADDRESS: Rate = "30/minute"

    # Single sign-on (docs/authentication.md): a JSON list of providers, each
    # {"name", "display_name", "issuer", "client_id", "client_secret"} and optionally
    # "scopes" and "allow_signup". Empty: no sign-on, and no buttons.
    OIDC_PROVIDERS: list[OidcProvider] = []
    # The public origin providers send the browser back to, at
    # <origin>/api/v1/login/oidc/<name>/callback (register that URL with the provider).
    # Empty: FRONTEND_HOST, right when the UI and /api share one origin (Traefik).
    OIDC_CALLBACK_ORIGIN: str | None = None
    # How long a login may stay at the provider (and a link wait for its password).
    OIDC_FLOW_EXPIRE_MINUTES: int = Field(default=10, ge=1, le=60)
    # Each request to a provider (discovery, keys, token, userinfo) gives up after this.
    OIDC_HTTP_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=60)

    EMAIL_BACKEND: Literal["resend", "smtp", "console"] | None = None
    RESEND_API_KEY: str | None = None
    RESEND_API_URL: str | None = None
    SMTP_TLS: bool = True
    SMTP_SSL: bool = False
    SMTP_PORT: int = 587
    SMTP_HOST: str | None = None
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    EMAILS_FROM_EMAIL: EmailStr | None = None
    EMAILS_FROM_NAME: str | None = None

    # The browser UI's websocket (/api/_event). A larger message is refused unread and
    # the connection closed; a connection sending more than the rate (messages per
    # second, with bursts of twice that) is closed too. The tab reconnects by itself.
    MAX_EVENT_BYTES: int = 64 * 1024
    UI_EVENTS_PER_SECOND: int = 20
    # A closed tab's server-side UI state (and the token in it) is dropped after this
    # long without events; a tab that comes back later starts from a fresh state.
    STATE_EXPIRY_SECONDS: int = 30 * 60
    # What tabs nobody signed in to may cost (app/ui/tab_states.py), per backend process:
    # over a cap, the anonymous tab idle longest loses its state (of the address over
    # its cap; over the process's cap, of the address holding the most tabs). A
    # signed-in tab's state is never dropped while it is connected. An anonymous tab's
    # state goes this long after its socket closed, instead of STATE_EXPIRY_SECONDS.
    TAB_STATES_PER_ADDRESS: int = Field(default=100, ge=1)
    TAB_STATES_PER_PROCESS: int = Field(default=5000, ge=1)
    ANONYMOUS_STATE_EXPIRY_SECONDS: int = Field(default=5 * 60, ge=1)

    SENTRY_DSN: str | None = None
    SENTRY_TRACES_SAMPLE_RATE: float = 0.1
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # json: one JSON object a line (log shippers parse it); text: for people reading a
    # terminal. Empty: text in local, json elsewhere.
    LOG_FORMAT: Literal["json", "text"] | None = None
    # When set, /api/metrics answers only `Authorization: Bearer <METRICS_TOKEN>`.
    METRICS_TOKEN: str | None = None
    # False: no request id, access log line or HTTP request metrics; for measuring what
    # they cost (bench/overhead.py), not for deployments.
    OBSERVE_REQUESTS: bool = True
    # While this file exists the health endpoints answer 503 (app/core/drain.py), so the
    # proxy stops routing here before a rolling deploy stops the replica. Empty: never.
    DRAIN_FILE: str = "/tmp/full-stack-reflex.draining"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def all_cors_origins(self) -> list[str]:
        origins = [str(origin).rstrip("/") for origin in self.BACKEND_CORS_ORIGINS]
        return [*origins, self.FRONTEND_HOST.rstrip("/")]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def email_backend(self) -> Literal["resend", "smtp", "console"]:
        """EMAIL_BACKEND, else resend with an API key, else smtp with a host, else console."""
        if self.EMAIL_BACKEND:
            return self.EMAIL_BACKEND
        if self.RESEND_API_KEY:
            return "resend"
        if self.SMTP_HOST:
            return "smtp"
        return "console"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def emails_enabled(self) -> bool:
        """Whether mail really leaves the machine (not just the console log)."""
        return self.email_backend != "console" and bool(self.EMAILS_FROM_EMAIL)

    @property
    def oidc_callback_origin(self) -> str:
        return (self.OIDC_CALLBACK_ORIGIN or self.FRONTEND_HOST).rstrip("/")

    def oidc_provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.OIDC_PROVIDERS if p.name == name), None)

    @model_validator(mode="after")
    def _unique_provider_names(self) -> Self:
        names = [provider.name for provider in self.OIDC_PROVIDERS]
        if len(set(names)) != len(names):
            raise ValueError(f"OIDC_PROVIDERS: each provider needs a name of its own ({names})")
        return self

    @cached_property
    def database_url(self) -> str:
        """Sync URL (alembic, prestart); DATABASE_URL, else POSTGRES_*, else SQLite."""
        if self.DATABASE_URL:
            return normalize_database_url(self.DATABASE_URL)
        if self.POSTGRES_SERVER:
            password = quote(self.POSTGRES_PASSWORD, safe="")
            auth = f"{quote(self.POSTGRES_USER, safe='')}:{password}"
            return (
                f"postgresql+psycopg://{auth}@{self.POSTGRES_SERVER}:"
                f"{self.POSTGRES_PORT}/{self.POSTGRES_DB}"
            )
        path = Path(self.SQLITE_PATH)
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        return f"sqlite:///{path}"

    @property
    def prepares_itself(self) -> bool:
        """Local development on the embedded SQLite default: the backend migrates the
        schema and creates the first superuser at startup, so a plain `reflex run` works.
        Anywhere else `python -m app.prestart` stays an explicit deployment step."""
        return self.ENVIRONMENT == "local" and not (self.DATABASE_URL or self.POSTGRES_SERVER)

    @cached_property
    def async_database_url(self) -> str:
        return async_driver_url(self.database_url)

    @cached_property
    def async_replica_url(self) -> str | None:
        if not self.DATABASE_REPLICA_URL:
            return None
        return async_driver_url(normalize_database_url(self.DATABASE_REPLICA_URL))

    def _check_default_secret(self, name: str, value: str | None) -> None:
        if value == "changethis":
            message = (
                f'The value of {name} is "changethis", '
                "for security, please change it, at least for deployments."
            )
            if self.ENVIRONMENT == "local":
                warnings.warn(message, stacklevel=1)
            else:
                raise ValueError(message)

    @model_validator(mode="after")
    def _window_covers_lag(self) -> Self:
        # A write older than the window is read from the replica only if the replica
        # was at most MAX_LAG behind at a probe at most LAG_CHECK ago: both must fit
        # in the window, or a caller could read a page without its own write.
        if self.DATABASE_REPLICA_URL:
            for name, url in (("DATABASE_REPLICA_URL", self.DATABASE_REPLICA_URL),
                              ("The primary database", self.database_url)):  # fmt: skip
                if make_url(normalize_database_url(url)).get_backend_name() != "postgresql":
                    raise ValueError(
                        f"{name} is not PostgreSQL: a read replica is a PostgreSQL "
                        "streaming standby of a PostgreSQL primary"
                    )
        allowed = self.REPLICA_MAX_LAG_SECONDS + self.REPLICA_LAG_CHECK_SECONDS
        if allowed >= self.REPLICA_READ_YOUR_WRITES_SECONDS:
            raise ValueError(
                "REPLICA_MAX_LAG_SECONDS + REPLICA_LAG_CHECK_SECONDS "
                f"({allowed:g}) must be less than REPLICA_READ_YOUR_WRITES_SECONDS "
                f"({self.REPLICA_READ_YOUR_WRITES_SECONDS:g}), or a caller could miss "
                "their own write on the replica"
            )
        return self

    @model_validator(mode="after")
    def _enforce_secrets(self) -> Self:
        if not self.SECRET_KEY:
            if self.ENVIRONMENT != "local":
                raise ValueError("SECRET_KEY must be set outside the local environment.")
            self.SECRET_KEY = local_secret_key()
        self._check_default_secret("SECRET_KEY", self.SECRET_KEY)
        if self.ENVIRONMENT != "local" and len(self.SECRET_KEY.encode()) < MIN_SECRET_KEY_BYTES:
            # HS256 with a short key falls to an offline search from one token, and
            # whoever finds it can sign any user's token, a superuser's too.
            raise ValueError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes outside the local "
                'environment; generate one with: python -c "import secrets; '
                'print(secrets.token_urlsafe(32))"'
            )
        self._check_default_secret("POSTGRES_PASSWORD", self.POSTGRES_PASSWORD)
        if self.DATABASE_URL:
            self._check_default_secret(
                "DATABASE_URL password", make_url(self.database_url).password
            )
        self._check_default_secret("FIRST_SUPERUSER_PASSWORD", self.FIRST_SUPERUSER_PASSWORD)
        if self.EMAILS_FROM_NAME is None:
            self.EMAILS_FROM_NAME = self.PROJECT_NAME
        return self


def normalize_database_url(url: str) -> str:
    """`postgres://` and bare `postgresql://` mean psycopg 3, which does sync and async.

    A libpq multi-host URL (`postgresql://user@h1:5432,h2:5432/app?target_session_attrs=
    read-write`, as Patroni clusters and scripts/dev/ha.sh hand out) becomes SQLAlchemy's
    spelling of it, one `host=h:port` query parameter per member: psycopg then tries them
    in order for every new connection, keeping the one target_session_attrs accepts.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
            break
    return _multi_host_as_query(url)


def _multi_host_as_query(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    credentials, at, hosts = authority.rpartition("@")
    if not separator or "," not in hosts:
        return url
    database, question, query = path.partition("?")
    members = "&".join(f"host={quote(host, safe='[]:')}" for host in hosts.split(","))
    return f"{scheme}://{credentials}{at}/{database}?{members}{'&' if query else ''}{query}"


def load_settings() -> Settings:
    """The settings, or one line on stderr and exit status 2 when they are invalid.

    A container started with a missing or wrong setting must stop with a message an operator
    reads in one glance (`docker logs`), not a validation traceback, and never turn healthy.
    """
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'settings'}: {problem['msg']}"
            for problem in error.errors()
        )
        sys.stderr.write(f"configuration error: {problems}\n")
        sys.stderr.flush()
        raise SystemExit(2) from None


settings = load_settings()
