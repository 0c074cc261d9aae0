"""Rate limits over REST: each limit at its default, 429 with Retry-After and a detail,
the client address behind trusted proxies, and logins while Redis is down.

Every test here runs twice, with the limits counted in memory and in the real Redis
(`default_limits`), except the outage test, which points the limiter at a closed port.
"""

import logging
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import security
from app.core.config import settings
from app.emails import EmailMessage
from app.services import auth, rate_limits
from app.services.rate_limits import Limit, RateLimiter
from devtools.servers import free_port
from tests.conftest import DEFAULT_RATES, Account, make_account
from tests.factories import random_email, random_lower_string

API = settings.API_V1_STR
TOO_MANY_LOGINS = "Too many failed login attempts. Try again in "
TOO_MANY_RECOVERIES = "Too many password recovery requests. Try again in "
TOO_MANY_SIGNUPS = "Too many sign-ups from this address. Try again in "
TOO_MANY_TEST_EMAILS = "Too many test emails from this address. Try again in "

pytestmark = pytest.mark.usefixtures("default_limits")


def from_address(address: str) -> dict[str, str]:
    """Headers of a request that reached the backend through one proxy, from `address`."""
    return {"X-Forwarded-For": address}


@pytest.fixture
def behind_one_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "REFLEX_TRUSTED_PROXY_HOPS", 1)


@pytest.fixture
def sent_emails(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, EmailMessage]]:
    sent: list[tuple[str, EmailMessage]] = []

    def capture(to: str, message: EmailMessage) -> None:
        sent.append((to, message))

    monkeypatch.setattr("app.services.auth.schedule_email", capture)
    monkeypatch.setattr("app.services.mailing.schedule_email", capture)
    return sent


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """bcrypt checks the login runs (real ones), by email."""
    checked: list[str] = []
    # The real checks, which auth imported from app.core.security.
    verify, burn = security.verify_password, security.burn_password_check

    async def counted_verify(password: str, hashed: str) -> bool:
        checked.append("known")
        return await verify(password, hashed)

    async def counted_burn(password: str) -> None:
        checked.append("unknown")
        await burn(password)

    monkeypatch.setattr(auth, "verify_password", counted_verify)
    monkeypatch.setattr(auth, "burn_password_check", counted_burn)
    return checked


def limit_of(name: str) -> int:
    return int(DEFAULT_RATES[Limit[name]].split("/")[0])


async def login(
    client: httpx.AsyncClient, email: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        f"{API}/login/access-token",
        data={"username": email, "password": password},
        headers=headers,
    )


async def signup(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"email": random_email(), "password": random_lower_string(12)}
    return await client.post(f"{API}/users/signup", json=body, headers=headers)


def assert_too_many(response: httpx.Response, detail_start: str, window_seconds: int) -> None:
    assert response.status_code == 429, response.text
    detail = response.json()["detail"]
    assert detail.startswith(detail_start), detail
    assert 0 < int(response.headers["retry-after"]) <= window_seconds


# Login failures ----------------------------------------------------------------------


@pytest.mark.usefixtures("behind_one_proxy")
async def test_wrong_passwords_lock_the_account_without_running_bcrypt(
    client: httpx.AsyncClient, normal_user: Account, password_checks: list[str]
) -> None:
    allowed = limit_of("LOGIN_FAILURES_PER_ACCOUNT")
    # From a new address each time: only the account's own limit can refuse.
    for attempt in range(allowed):
        r = await login(
            client, normal_user.email, "wrong-password", from_address(f"10.0.0.{attempt}")
        )
        assert r.status_code == 400, r.text
    assert len(password_checks) == allowed

    refused = await login(client, normal_user.email, "wrong-password", from_address("10.0.1.1"))
    assert_too_many(refused, TOO_MANY_LOGINS, 15 * 60)
    # Even the right password waits, and a locked account costs no bcrypt check.
    right = await login(client, normal_user.email, normal_user.password, from_address("10.0.1.2"))
    assert_too_many(right, TOO_MANY_LOGINS, 15 * 60)
    assert len(password_checks) == allowed
    # The count is per account, whatever the case of the email.
    upper = await login(client, normal_user.email.upper(), "wrong", from_address("10.0.1.3"))
    assert upper.status_code == 429


async def test_an_unknown_email_is_limited_like_a_known_one(
    client: httpx.AsyncClient, password_checks: list[str]
) -> None:
    email = random_email()
    for _ in range(limit_of("LOGIN_FAILURES_PER_ACCOUNT")):
        assert (await login(client, email, "wrong-password")).status_code == 400
    assert_too_many(await login(client, email, "wrong-password"), TOO_MANY_LOGINS, 15 * 60)
    assert password_checks == ["unknown"] * limit_of("LOGIN_FAILURES_PER_ACCOUNT")


async def test_successful_logins_do_not_count_as_failures(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    allowed = limit_of("LOGIN_FAILURES_PER_ACCOUNT")
    for _ in range(allowed - 1):
        assert (await login(client, normal_user.email, "wrong-password")).status_code == 400
    for _ in range(5):
        assert (await login(client, normal_user.email, normal_user.password)).status_code == 200
    # The last failure the window allows is still a plain 400.
    assert (await login(client, normal_user.email, "wrong-password")).status_code == 400
    assert (await login(client, normal_user.email, "wrong-password")).status_code == 429


async def test_one_locked_account_leaves_the_others_alone(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account
) -> None:
    for _ in range(limit_of("LOGIN_FAILURES_PER_ACCOUNT") + 3):
        await login(client, normal_user.email, "wrong-password")
    assert (await login(client, normal_user.email, normal_user.password)).status_code == 429
    assert (await login(client, other_user.email, other_user.password)).status_code == 200


@pytest.mark.usefixtures("behind_one_proxy")
async def test_wrong_passwords_from_one_address_are_limited(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    attacker = from_address("198.51.100.7")
    # Spread over many accounts, so no account's own limit is reached.
    for _ in range(limit_of("LOGIN_FAILURES_PER_ADDRESS")):
        r = await login(client, random_email(), "wrong-password", attacker)
        assert r.status_code == 400, r.text
    refused = await login(client, normal_user.email, normal_user.password, attacker)
    assert_too_many(refused, TOO_MANY_LOGINS, 15 * 60)
    # The same user from their own address is not held up.
    r = await login(client, normal_user.email, normal_user.password, from_address("192.0.2.1"))
    assert r.status_code == 200


# Password recovery --------------------------------------------------------------------


@pytest.mark.usefixtures("behind_one_proxy")
async def test_recovery_mails_per_email_are_limited(
    client: httpx.AsyncClient, normal_user: Account, sent_emails: list[tuple[str, EmailMessage]]
) -> None:
    allowed = limit_of("RECOVERY_PER_EMAIL")
    for attempt in range(allowed):
        r = await client.post(
            f"{API}/password-recovery/{normal_user.email}",
            headers=from_address(f"10.0.0.{attempt}"),
        )
        assert r.status_code == 200, r.text
    refused = await client.post(
        f"{API}/password-recovery/{normal_user.email}", headers=from_address("10.0.1.1")
    )
    assert_too_many(refused, TOO_MANY_RECOVERIES, 3600)
    assert len(sent_emails) == allowed


async def test_recovery_requests_per_address_are_limited(
    client: httpx.AsyncClient, normal_user: Account, sent_emails: list[tuple[str, EmailMessage]]
) -> None:
    # Unknown emails count too: the reply (and the limit) must not tell them apart.
    for _ in range(limit_of("RECOVERY_PER_ADDRESS")):
        assert (await client.post(f"{API}/password-recovery/{random_email()}")).status_code == 200
    refused = await client.post(f"{API}/password-recovery/{normal_user.email}")
    assert_too_many(refused, TOO_MANY_RECOVERIES, 3600)
    assert sent_emails == []


# Sign-up and test email ----------------------------------------------------------------


async def test_signups_per_address_are_limited(client: httpx.AsyncClient) -> None:
    for _ in range(limit_of("SIGNUPS_PER_ADDRESS")):
        r = await signup(client)
        assert r.status_code == 200, r.text
    assert_too_many(await signup(client), TOO_MANY_SIGNUPS, 3600)


async def test_test_emails_per_address_are_limited(
    client: httpx.AsyncClient, superuser: Account, sent_emails: list[tuple[str, EmailMessage]]
) -> None:
    allowed = limit_of("TEST_EMAILS_PER_ADDRESS")
    url = f"{API}/utils/test-email/"
    for _ in range(allowed):
        r = await client.post(url, params={"email_to": random_email()}, headers=superuser.headers)
        assert r.status_code == 201, r.text
    refused = await client.post(url, params={"email_to": random_email()}, headers=superuser.headers)
    assert_too_many(refused, TOO_MANY_TEST_EMAILS, 3600)
    assert len(sent_emails) == allowed


# The client's address ------------------------------------------------------------------


async def test_forwarded_for_is_ignored_without_trusted_proxies(client: httpx.AsyncClient) -> None:
    # Anyone can send the header: a new address in it each time must not reset the count.
    for attempt in range(limit_of("SIGNUPS_PER_ADDRESS")):
        assert (await signup(client, from_address(f"10.0.0.{attempt}"))).status_code == 200
    assert (await signup(client, from_address("10.0.1.1"))).status_code == 429


@pytest.mark.usefixtures("behind_one_proxy")
async def test_forwarded_for_counts_the_address_the_trusted_proxy_saw(
    client: httpx.AsyncClient,
) -> None:
    # The proxy appends the address it saw; what the client wrote before it is forged.
    for attempt in range(limit_of("SIGNUPS_PER_ADDRESS")):
        forged = {"X-Forwarded-For": f"10.0.0.{attempt}, 203.0.113.9"}
        assert (await signup(client, forged)).status_code == 200
    assert (await signup(client, from_address("10.0.1.1, 203.0.113.9"))).status_code == 429
    # Another client behind the same proxy has its own count.
    assert (await signup(client, from_address("203.0.113.10"))).status_code == 200


# Redis down ----------------------------------------------------------------------------


@pytest.fixture
async def redis_down(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RateLimiter]:
    """The limiter pointed at a port where no Redis listens."""
    limiter = RateLimiter(DEFAULT_RATES, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(rate_limits, "limiter", limiter)
    yield limiter
    await limiter.close()


async def test_logins_work_while_redis_is_down_with_one_warning(
    client: httpx.AsyncClient,
    session: AsyncSession,
    redis_down: RateLimiter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.services.rate_limits"):
        account = await make_account(client, session)
        assert (await client.get(f"{API}/users/me", headers=account.headers)).status_code == 200
        allowed = limit_of("LOGIN_FAILURES_PER_ACCOUNT")
        for _ in range(allowed - 1):
            assert (await login(client, account.email, "wrong-password")).status_code == 400
        assert (await login(client, account.email, account.password)).status_code == 200
        # Each retry of Redis after the pause fails again; the outage is still one warning.
        redis_down.outage.until = 0.0
        assert (await login(client, account.email, "wrong-password")).status_code == 400
        # Meanwhile the process keeps its own count: a flood is still held back.
        assert_too_many(await login(client, account.email, "wrong"), TOO_MANY_LOGINS, 15 * 60)
    warnings = [r for r in caplog.records if r.name == "app.services.rate_limits"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "Rate limit storage unavailable" in warnings[0].getMessage()


# Known devices (OWASP device cookies) ------------------------------------------------


async def device_token_of(client: httpx.AsyncClient, account: Account) -> str:
    r = await login(client, account.email, account.password)
    assert r.status_code == 200, r.text
    token: str = r.json()["device_token"]
    return token


def on_device(token: str, address: str = "10.9.9.9") -> dict[str, str]:
    return {"X-Device-Token": token, **from_address(address)}


@pytest.mark.usefixtures("behind_one_proxy")
async def test_a_locked_account_still_opens_on_a_known_device(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    device = await device_token_of(client, normal_user)
    for attempt in range(limit_of("LOGIN_FAILURES_PER_ACCOUNT") + 5):
        await login(client, normal_user.email, "wrong", from_address(f"10.0.2.{attempt}"))
    locked = await login(client, normal_user.email, normal_user.password, from_address("10.0.3.1"))
    assert_too_many(locked, TOO_MANY_LOGINS, 15 * 60)
    known = await login(client, normal_user.email, normal_user.password, on_device(device))
    assert known.status_code == 200, known.text
    # The same device keeps its token.
    assert known.json()["device_token"] == device


@pytest.mark.usefixtures("behind_one_proxy")
async def test_a_flooded_address_still_lets_a_known_device_in(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    device = await device_token_of(client, normal_user)
    office = "10.0.4.1"
    for _ in range(limit_of("LOGIN_FAILURES_PER_ADDRESS")):
        await login(client, random_email(), "wrong", from_address(office))
    colleague = await make_account(client, session)
    refused = await login(client, colleague.email, colleague.password, from_address(office))
    assert_too_many(refused, TOO_MANY_LOGINS, 15 * 60)
    known = await login(client, normal_user.email, normal_user.password, on_device(device, office))
    assert known.status_code == 200, known.text


@pytest.mark.usefixtures("behind_one_proxy")
async def test_failures_on_a_known_device_lock_that_device_only(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    device = await device_token_of(client, normal_user)
    for _ in range(limit_of("LOGIN_FAILURES_PER_DEVICE")):
        assert (
            await login(client, normal_user.email, "wrong", on_device(device))
        ).status_code == 400
    right = await login(client, normal_user.email, normal_user.password, on_device(device))
    assert_too_many(right, TOO_MANY_LOGINS, 15 * 60)
    # The account itself was not charged: another device gets in.
    other = await login(client, normal_user.email, normal_user.password, from_address("10.0.5.1"))
    assert other.status_code == 200, other.text


@pytest.mark.usefixtures("behind_one_proxy")
@pytest.mark.parametrize("kind", ["another account's", "forged", "garbage"])
async def test_a_device_token_not_of_this_account_counts_as_an_unknown_device(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, kind: str
) -> None:
    stranger = await make_account(client, session)
    token = {
        "another account's": await device_token_of(client, stranger),
        "forged": jwt.encode(
            {"type": "device", "acc": "x", "dev": "y", "iat": 1, "exp": 4102444800}, "k" * 32
        ),
        "garbage": "garbage",
    }[kind]
    for attempt in range(limit_of("LOGIN_FAILURES_PER_ACCOUNT")):
        await login(client, normal_user.email, "wrong", from_address(f"10.0.6.{attempt}"))
    refused = await login(client, normal_user.email, normal_user.password, on_device(token))
    assert_too_many(refused, TOO_MANY_LOGINS, 15 * 60)
