"""Email verification through the REST API, with the links read from real SMTP mail."""

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import jwt
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import MAX_CLAIM, create_reset_token, create_verify_token
from app.emails.sending import wait_for_pending_emails
from app.models import PrivateUserCreate, UserCreate
from app.services import messages, users
from app.services.rate_limits import Limit
from tests.conftest import DEFAULT_RATES, Account, login_headers
from tests.emails.conftest import Mailbox
from tests.emails.test_delivery import parts
from tests.factories import random_email, random_lower_string

API = settings.API_V1_STR
LINK = re.compile(r"/verify-email\?token=([\w.-]+)")


async def mail_to(mailbox: Mailbox, email: str) -> EmailMessage:
    await wait_for_pending_emails()
    found = [message for message in mailbox.messages if message["To"] == email]
    assert len(found) == 1, [m["To"] for m in mailbox.messages]
    return found[0]


def link_token(message: EmailMessage) -> str:
    """The token of the message's link, the same in its text and HTML parts."""
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    tokens = set()
    for body in bodies.values():
        match = LINK.search(body)
        assert match, body
        tokens.add(match.group(1))
    [token] = tokens
    assert f"{settings.FRONTEND_HOST}/verify-email?token={token}" in bodies["text/plain"]
    return token


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(f"{API}/verify-email/", json={"token": token})


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, object]:
    response = await client.get(f"{API}/users/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_sign_up_mails_a_link_that_verifies_the_address_once(
    client: httpx.AsyncClient, smtp_server: Mailbox
) -> None:
    email, password = random_email(), random_lower_string(12)
    signup = await client.post(f"{API}/users/signup", json={"email": email, "password": password})
    assert signup.status_code == 200
    assert signup.json()["email_verified"] is False

    message = await mail_to(smtp_server, email)
    assert message["Subject"] == f"{settings.PROJECT_NAME} - Verify your email address"
    assert f"{settings.EMAIL_VERIFY_TOKEN_EXPIRE_HOURS} hours" in parts(message)["text/plain"]
    token = link_token(message)

    first = await verify(client, token)
    assert (first.status_code, first.json()) == (200, {"message": "Email address verified"})
    assert (await me(client, await login_headers(client, email, password)))["email_verified"]

    again = await verify(client, token)
    assert (again.status_code, again.json()) == (400, {"detail": "Email address already verified"})


async def test_an_expired_link_is_refused(
    client: httpx.AsyncClient, normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "EMAIL_VERIFY_TOKEN_EXPIRE_HOURS", -1)
    token = create_verify_token(normal_user.id, normal_user.email)
    response = await verify(client, token)
    assert (response.status_code, response.json()) == (400, {"detail": "Invalid token"})
    assert (await me(client, normal_user.headers))["email_verified"] is False


def forged(user_id: int, email: object, key: str = "", **changes: object) -> str:
    """A verify token as the app would sign it, but for `changes` (and `key`)."""
    claims = {
        "sub": str(user_id),
        "email": email,
        "type": "verify",
        "iat": datetime.now(UTC).timestamp(),
        "exp": datetime.now(UTC) + timedelta(hours=1),
        **changes,
    }
    return jwt.encode(claims, key or settings.SECRET_KEY, algorithm="HS256")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda account: "not-a-token", id="garbage"),
        pytest.param(
            lambda account: forged(account.id, account.email, key="another-key-" * 4),
            id="another-key",
        ),
        pytest.param(lambda account: create_reset_token(account.id), id="reset-token"),
        pytest.param(lambda account: account.token, id="access-token"),
        pytest.param(lambda account: forged(account.id, account.email, type="reset"), id="type"),
        pytest.param(lambda account: forged(account.id, "other@example.com"), id="other-email"),
        pytest.param(lambda account: forged(account.id, account.email, sub="x"), id="bad-sub"),
        pytest.param(lambda account: forged(MAX_CLAIM + 1, account.email), id="huge-id"),
        pytest.param(lambda account: forged(account.id, 42), id="email-not-text"),
    ],
)
async def test_forged_tokens_are_refused(
    client: httpx.AsyncClient, normal_user: Account, make: object
) -> None:
    assert callable(make)
    response = await verify(client, make(normal_user))
    assert (response.status_code, response.json()) == (400, {"detail": "Invalid token"})
    assert (await me(client, normal_user.headers))["email_verified"] is False


async def test_a_link_to_an_address_the_account_no_longer_has_proves_nothing(
    client: httpx.AsyncClient, normal_user: Account, superuser: Account
) -> None:
    token = create_verify_token(normal_user.id, normal_user.email)
    changed = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"email": random_email()}
    )
    assert changed.status_code == 200
    response = await verify(client, token)
    assert (response.status_code, response.json()) == (400, {"detail": "Invalid token"})


async def test_an_inactive_account_cannot_verify(
    client: httpx.AsyncClient, normal_user: Account, superuser: Account
) -> None:
    await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"is_active": False}
    )
    response = await verify(client, create_verify_token(normal_user.id, normal_user.email))
    assert (response.status_code, response.json()) == (400, {"detail": "Inactive user"})


async def test_a_new_link_on_request_and_none_once_verified(
    client: httpx.AsyncClient, normal_user: Account, smtp_server: Mailbox
) -> None:
    sent = await client.post(f"{API}/users/me/verification-email", headers=normal_user.headers)
    assert (sent.status_code, sent.json()) == (200, {"message": "Verification email sent"})
    token = link_token(await mail_to(smtp_server, normal_user.email))
    assert (await verify(client, token)).status_code == 200

    again = await client.post(f"{API}/users/me/verification-email", headers=normal_user.headers)
    assert (again.status_code, again.json()) == (
        400,
        {"detail": "Email address already verified"},
    )
    await wait_for_pending_emails()
    assert len(smtp_server.messages) == 1


@pytest.mark.usefixtures("default_limits")
async def test_asking_for_links_is_rate_limited_per_account(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    allowed = int(DEFAULT_RATES[Limit.VERIFICATION_EMAILS_PER_ACCOUNT].split("/")[0])
    url = f"{API}/users/me/verification-email"
    for _ in range(allowed):
        assert (await client.post(url, headers=normal_user.headers)).status_code == 200
    refused = await client.post(url, headers=normal_user.headers)
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many verification emails. Try again in ")
    assert int(refused.headers["Retry-After"]) > 0


async def test_who_starts_verified(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    # The first superuser (the deployment's own address), and seeded users that say so.
    assert (await me(client, superuser.headers))["email_verified"] is True
    seeded = await users.create_private_user(
        session,
        PrivateUserCreate(email=random_email(), password=random_lower_string(), is_verified=True),
    )
    assert seeded.email_verified
    created = await client.post(
        f"{API}/users/",
        headers=superuser.headers,
        json={"email": random_email(), "password": random_lower_string()},
    )
    assert created.json()["email_verified"] is False
    made = await users.create_user(
        session, UserCreate(email=random_email(), password=random_lower_string())
    )
    assert not made.email_verified


# REQUIRE_EMAIL_VERIFICATION -----------------------------------------------------------


async def test_unverified_accounts_are_not_held_back_by_default(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    assert settings.REQUIRE_EMAIL_VERIFICATION is False
    response = await client.get(f"{API}/items/", headers=normal_user.headers)
    assert response.status_code == 200


@pytest.fixture
def verification_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "REQUIRE_EMAIL_VERIFICATION", True)


BLOCKED = [
    ("GET", "/items/", None),
    ("POST", "/items/", {"title": "x"}),
    ("PATCH", "/users/me", {"full_name": "x"}),
    ("PATCH", "/users/me/password", {"current_password": "x" * 8, "new_password": "y" * 8}),
    ("GET", "/users/me/sessions", None),
    ("DELETE", "/users/me/sessions", None),
]


@pytest.mark.usefixtures("verification_required")
async def test_an_unverified_account_can_only_verify_resend_log_out_or_leave(
    client: httpx.AsyncClient, normal_user: Account, smtp_server: Mailbox
) -> None:
    for method, path, body in BLOCKED:
        response = await client.request(
            method, f"{API}{path}", headers=normal_user.headers, json=body
        )
        assert (response.status_code, response.json()) == (
            403,
            {"detail": messages.EMAIL_NOT_VERIFIED},
        ), path
    # What is left: reading the account (so a client can say why), a new link, verifying.
    assert (await me(client, normal_user.headers))["email_verified"] is False
    url = f"{API}/users/me/verification-email"
    assert (await client.post(url, headers=normal_user.headers)).status_code == 200
    token = link_token(await mail_to(smtp_server, normal_user.email))
    assert (await verify(client, token)).status_code == 200
    # Verified, the same token works for everything.
    for method, path, body in BLOCKED[:3]:
        response = await client.request(
            method, f"{API}{path}", headers=normal_user.headers, json=body
        )
        assert response.status_code == 200, (path, response.text)


@pytest.mark.usefixtures("verification_required")
async def test_an_unverified_account_can_log_in_log_out_and_delete_itself(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    headers = await login_headers(client, normal_user.email, normal_user.password)
    logout = await client.post(f"{API}/logout", headers=normal_user.headers)
    assert logout.status_code == 200
    deleted = await client.delete(f"{API}/users/me", headers=headers)
    assert (deleted.status_code, deleted.json()) == (200, {"message": "User deleted successfully"})


@pytest.mark.usefixtures("verification_required")
async def test_verified_and_superusers_are_not_held_back(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    assert (await client.get(f"{API}/users/", headers=superuser.headers)).status_code == 200
