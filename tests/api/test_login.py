"""Login, password recovery and reset, and how every protected route judges a token."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import create_reset_token
from app.emails import EmailMessage
from tests.conftest import Account, login_headers, make_account
from tests.factories import random_email, random_lower_string, token_without_session

API = settings.API_V1_STR
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
INVALID_CREDENTIALS = {"detail": "Could not validate credentials"}
INVALID_TOKEN = {"detail": "Invalid token"}
INCORRECT_LOGIN = {"detail": "Incorrect email or password"}
INACTIVE_USER = {"detail": "Inactive user"}
# A well-formed HS256 key that is not the app's.
OTHER_KEY = "not-the-app-secret-" + "k" * 32


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def crafted_token(
    claims: dict[str, Any], *, key: str | None = None, algorithm: str = "HS256"
) -> str:
    return jwt.encode(claims, key if key is not None else settings.SECRET_KEY, algorithm=algorithm)


def fresh_claims(user_id: int, token_type: str, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "type": token_type,
        "iat": now.timestamp(),
        "exp": now + timedelta(minutes=5),
    }
    if token_type == "access":
        # Refused for the claim under test before any session is looked up.
        claims["sid"] = 1
    claims.update(overrides)
    return claims


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        f"{API}/login/access-token", data={"username": email, "password": password}
    )


async def deactivate(client: httpx.AsyncClient, superuser: Account, account: Account) -> None:
    r = await client.patch(
        f"{API}/users/{account.id}", headers=superuser.headers, json={"is_active": False}
    )
    assert r.status_code == 200, r.text


async def reset(client: httpx.AsyncClient, token: str, new_password: str) -> httpx.Response:
    return await client.post(
        f"{API}/reset-password/", json={"token": token, "new_password": new_password}
    )


@pytest.fixture
def sent_emails(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, EmailMessage]]:
    """Recovery emails the app schedules, captured instead of being sent."""
    sent: list[tuple[str, EmailMessage]] = []
    monkeypatch.setattr(
        "app.services.auth.schedule_email", lambda to, message: sent.append((to, message))
    )
    return sent


# Access token ------------------------------------------------------------------------


async def test_login_returns_a_bearer_access_token(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await login(client, normal_user.email, normal_user.password)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == str(normal_user.id)
    assert claims["type"] == "access"
    lifetime = claims["exp"] - claims["iat"]
    assert abs(lifetime - settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60) < 5


async def test_login_token_works_on_a_protected_route(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await login(client, normal_user.email, normal_user.password)
    me = await client.get(f"{API}/users/me", headers=bearer(r.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == normal_user.email


async def test_login_with_wrong_password_is_rejected(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await login(client, normal_user.email, "wrong-password")
    assert r.status_code == 400
    assert r.json() == INCORRECT_LOGIN


async def test_login_with_unknown_email_is_rejected_like_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    r = await login(client, random_email(), random_lower_string())
    assert r.status_code == 400
    assert r.json() == INCORRECT_LOGIN


async def test_login_of_inactive_user_is_rejected(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    await deactivate(client, superuser, normal_user)
    r = await login(client, normal_user.email, normal_user.password)
    assert r.status_code == 400
    assert r.json() == INACTIVE_USER


async def test_inactive_user_with_wrong_password_gets_incorrect_login(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    await deactivate(client, superuser, normal_user)
    r = await login(client, normal_user.email, "wrong-password")
    assert r.status_code == 400
    assert r.json() == INCORRECT_LOGIN


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"username": "someone@example.com"},
        {"password": "some-password"},
    ],
)
async def test_login_without_username_or_password_is_422(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    r = await client.post(f"{API}/login/access-token", data=form)
    assert r.status_code == 422


async def test_login_with_json_body_instead_of_form_is_422(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/login/access-token",
        json={"username": normal_user.email, "password": normal_user.password},
    )
    assert r.status_code == 422


async def test_login_with_grant_type_password_is_accepted(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/login/access-token",
        data={
            "username": normal_user.email,
            "password": normal_user.password,
            "grant_type": "password",
        },
    )
    assert r.status_code == 200


@pytest.mark.parametrize("grant_type", ["client_credentials", "refresh_token", "Password"])
async def test_login_with_other_grant_type_is_422(
    client: httpx.AsyncClient, normal_user: Account, grant_type: str
) -> None:
    r = await client.post(
        f"{API}/login/access-token",
        data={
            "username": normal_user.email,
            "password": normal_user.password,
            "grant_type": grant_type,
        },
    )
    assert r.status_code == 422


async def test_test_token_returns_the_caller(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(f"{API}/login/test-token", headers=normal_user.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == normal_user.id
    assert body["email"] == normal_user.email
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert "hashed_password" not in body
    assert "password" not in body


async def test_test_token_for_superuser_says_superuser(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(f"{API}/login/test-token", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json()["is_superuser"] is True


# Password recovery ---------------------------------------------------------------------


async def test_recovery_for_known_email_sends_a_reset_link(
    client: httpx.AsyncClient, normal_user: Account, sent_emails: list[tuple[str, EmailMessage]]
) -> None:
    r = await client.post(f"{API}/password-recovery/{normal_user.email}")
    assert r.status_code == 200
    assert r.json() == {"message": "If that email is registered, we sent a password recovery link"}
    assert len(sent_emails) == 1
    to, message = sent_emails[0]
    assert to == normal_user.email
    assert message.subject == (
        f"{settings.PROJECT_NAME} - Password recovery for user {normal_user.email}"
    )
    assert f"{settings.FRONTEND_HOST}/reset-password?token=" in message.text


async def test_recovery_for_unknown_email_answers_the_same_and_sends_nothing(
    client: httpx.AsyncClient, sent_emails: list[tuple[str, EmailMessage]]
) -> None:
    r = await client.post(f"{API}/password-recovery/{random_email()}")
    assert r.status_code == 200
    assert r.json() == {"message": "If that email is registered, we sent a password recovery link"}
    assert sent_emails == []


async def test_recovery_link_token_resets_the_password(
    client: httpx.AsyncClient, normal_user: Account, sent_emails: list[tuple[str, EmailMessage]]
) -> None:
    await client.post(f"{API}/password-recovery/{normal_user.email}")
    match = re.search(r"reset-password\?token=([\w.-]+)", sent_emails[0][1].text)
    assert match is not None
    new_password = random_lower_string()
    r = await reset(client, match.group(1), new_password)
    assert r.status_code == 200
    assert (await login(client, normal_user.email, new_password)).status_code == 200


# Reset password -----------------------------------------------------------------------


async def test_reset_password_sets_the_new_password(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    new_password = random_lower_string()
    r = await reset(client, create_reset_token(normal_user.id), new_password)
    assert r.status_code == 200
    assert r.json() == {"message": "Password updated successfully"}
    assert (await login(client, normal_user.email, new_password)).status_code == 200


async def test_old_password_fails_after_reset(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    await reset(client, create_reset_token(normal_user.id), random_lower_string())
    r = await login(client, normal_user.email, normal_user.password)
    assert r.status_code == 400
    assert r.json() == INCORRECT_LOGIN


async def test_reset_token_works_only_once(client: httpx.AsyncClient, normal_user: Account) -> None:
    token = create_reset_token(normal_user.id)
    assert (await reset(client, token, random_lower_string())).status_code == 200
    second_password = random_lower_string()
    r = await reset(client, token, second_password)
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN
    assert (await login(client, normal_user.email, second_password)).status_code == 400


async def test_reset_token_issued_before_a_password_change_is_invalid(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    token = create_reset_token(normal_user.id)
    changed = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": random_lower_string()},
    )
    assert changed.status_code == 200
    r = await reset(client, token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN


async def test_reset_revokes_access_tokens_issued_before_it(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    await reset(client, create_reset_token(normal_user.id), random_lower_string())
    r = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c", "Bearer x"])
async def test_reset_with_garbage_token_is_invalid(client: httpx.AsyncClient, token: str) -> None:
    r = await reset(client, token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN


async def test_reset_with_expired_token_is_invalid(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    now = datetime.now(UTC)
    token = crafted_token(fresh_claims(normal_user.id, "reset", exp=now - timedelta(seconds=10)))
    r = await reset(client, token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN
    assert (await login(client, normal_user.email, normal_user.password)).status_code == 200


async def test_reset_with_token_signed_by_another_key_is_invalid(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    token = crafted_token(fresh_claims(normal_user.id, "reset"), key=OTHER_KEY)
    r = await reset(client, token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN


async def test_access_token_cannot_be_used_as_reset_token(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await reset(client, normal_user.token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN
    assert (await login(client, normal_user.email, normal_user.password)).status_code == 200


async def test_login_access_token_cannot_be_used_as_reset_token(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    token = normal_user.headers["Authorization"].removeprefix("Bearer ")
    r = await reset(client, token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN


async def test_reset_for_deleted_user_is_invalid(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    token = create_reset_token(normal_user.id)
    deleted = await client.delete(f"{API}/users/me", headers=normal_user.headers)
    assert deleted.status_code == 200
    r = await reset(client, token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN


async def test_reset_for_user_id_that_never_existed_is_invalid(client: httpx.AsyncClient) -> None:
    r = await reset(client, create_reset_token(2**31 - 1), random_lower_string())
    assert r.status_code == 400
    assert r.json() == INVALID_TOKEN


async def test_reset_for_inactive_user_is_rejected(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    token = create_reset_token(normal_user.id)
    await deactivate(client, superuser, normal_user)
    r = await reset(client, token, random_lower_string())
    assert r.status_code == 400
    assert r.json() == INACTIVE_USER


@pytest.mark.parametrize("length", [7, 129])
async def test_reset_with_new_password_of_invalid_length_is_422(
    client: httpx.AsyncClient, normal_user: Account, length: int
) -> None:
    r = await reset(client, create_reset_token(normal_user.id), "x" * length)
    assert r.status_code == 422


@pytest.mark.parametrize("length", [8, 128])
async def test_reset_accepts_new_password_at_length_limits(
    client: httpx.AsyncClient, normal_user: Account, length: int
) -> None:
    new_password = "x" * length
    r = await reset(client, create_reset_token(normal_user.id), new_password)
    assert r.status_code == 200
    assert (await login(client, normal_user.email, new_password)).status_code == 200


async def test_reset_without_token_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/reset-password/", json={"new_password": random_lower_string()})
    assert r.status_code == 422


# Recovery email preview ----------------------------------------------------------------


async def test_recovery_html_content_is_shown_to_superuser(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/password-recovery-html-content/{normal_user.email}", headers=superuser.headers
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["subject"] == (
        f"{settings.PROJECT_NAME} - Password recovery for user {normal_user.email}"
    )
    assert "reset-password?token=" in r.text


async def test_recovery_html_content_is_forbidden_to_normal_user(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/password-recovery-html-content/{normal_user.email}", headers=normal_user.headers
    )
    assert r.status_code == 403
    assert r.json() == {"detail": "The user doesn't have enough privileges"}


async def test_recovery_html_content_for_unknown_email_is_404(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(
        f"{API}/password-recovery-html-content/{random_email()}", headers=superuser.headers
    )
    assert r.status_code == 404
    assert r.json() == {"detail": "The user with this username does not exist in the system."}


async def test_recovery_html_content_requires_a_token(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(f"{API}/password-recovery-html-content/{normal_user.email}")
    assert r.status_code == 401
    assert r.json() == NOT_AUTHENTICATED


# Authentication dependency outcomes ----------------------------------------------------

PROTECTED_ROUTES = [
    ("POST", "/login/test-token", None),
    ("GET", "/users/me", None),
    ("PATCH", "/users/me", {"full_name": "Someone"}),
    (
        "PATCH",
        "/users/me/password",
        {"current_password": "current-password", "new_password": "another-password"},
    ),
    ("DELETE", "/users/me", None),
    ("GET", "/users/1", None),
    ("GET", "/users/", None),
    ("POST", "/users/", {"email": "new-user@example.com", "password": "some-password"}),
    ("PATCH", "/users/1", {"full_name": "Someone"}),
    ("DELETE", "/users/1", None),
    ("GET", "/items/", None),
    ("POST", "/items/", {"title": "An item"}),
    ("GET", "/items/1", None),
    ("PUT", "/items/1", {"title": "An item"}),
    ("DELETE", "/items/1", None),
    ("POST", "/password-recovery-html-content/someone@example.com", None),
    ("POST", "/utils/test-email/?email_to=someone@example.com", None),
]


def route_id(route: tuple[str, str, Any]) -> str:
    return f"{route[0]} {route[1]}"


async def call(
    client: httpx.AsyncClient,
    route: tuple[str, str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    method, path, body = route
    return await client.request(method, f"{API}{path}", json=body, headers=headers)


@pytest.mark.parametrize("route", PROTECTED_ROUTES, ids=route_id)
async def test_protected_route_without_token_is_401(
    client: httpx.AsyncClient, route: tuple[str, str, Any]
) -> None:
    r = await call(client, route)
    assert r.status_code == 401
    assert r.json() == NOT_AUTHENTICATED
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("route", PROTECTED_ROUTES, ids=route_id)
async def test_protected_route_with_badly_signed_token_is_403(
    client: httpx.AsyncClient, normal_user: Account, route: tuple[str, str, Any]
) -> None:
    token = crafted_token(fresh_claims(normal_user.id, "access"), key=OTHER_KEY)
    r = await call(client, route, bearer(token))
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


async def test_non_bearer_authorization_scheme_is_401(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    token = normal_user.headers["Authorization"].removeprefix("Bearer ")
    r = await client.get(f"{API}/users/me", headers={"Authorization": f"Basic {token}"})
    assert r.status_code == 401
    assert r.json() == NOT_AUTHENTICATED


async def test_expired_access_token_is_403(client: httpx.AsyncClient, normal_user: Account) -> None:
    now = datetime.now(UTC)
    token = crafted_token(fresh_claims(normal_user.id, "access", exp=now - timedelta(seconds=10)))
    r = await client.get(f"{API}/users/me", headers=bearer(token))
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
async def test_malformed_access_token_is_403(client: httpx.AsyncClient, token: str) -> None:
    r = await client.get(f"{API}/users/me", headers=bearer(token))
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


async def test_reset_token_cannot_be_used_as_access_token(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/users/me", headers=bearer(create_reset_token(normal_user.id)))
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


async def test_unsigned_token_is_403(client: httpx.AsyncClient, normal_user: Account) -> None:
    token = jwt.encode(fresh_claims(normal_user.id, "access"), "", algorithm="none")
    r = await client.get(f"{API}/users/me", headers=bearer(token))
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


@pytest.mark.parametrize(
    "change",
    [
        {"sub": "not-a-number"},
        {"sub": 1},
        # Unicode digits: str.isdigit() says yes, int() raised (a 500 once).
        {"sub": "\u00b2"},
        {"sub": "\u0661"},
        {"type": None},
        {"type": "refresh"},
        {"sid": "1"},
        {"sid": 2**31},
        {"sid": True},
    ],
    ids=[
        "sub-not-digits",
        "sub-not-string",
        "sub-superscript-two",
        "sub-arabic-indic-one",
        "no-type",
        "refresh-type",
        "sid-not-integer",
        "sid-out-of-range",
        "sid-boolean",
    ],
)
async def test_access_token_with_invalid_claims_is_403(
    client: httpx.AsyncClient, normal_user: Account, change: dict[str, Any]
) -> None:
    claims = {
        key: value
        for key, value in fresh_claims(normal_user.id, "access", **change).items()
        if value is not None
    }
    r = await client.get(f"{API}/users/me", headers=bearer(crafted_token(claims)))
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "sid"])
async def test_access_token_missing_a_required_claim_is_403(
    client: httpx.AsyncClient, normal_user: Account, missing: str
) -> None:
    claims = fresh_claims(normal_user.id, "access")
    del claims[missing]
    r = await client.get(f"{API}/users/me", headers=bearer(crafted_token(claims)))
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


async def test_token_of_deleted_user_is_404(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    deleted = await client.delete(f"{API}/users/me", headers=normal_user.headers)
    assert deleted.status_code == 200
    r = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == {"detail": "User not found"}


async def test_token_for_user_id_that_never_existed_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/users/me", headers=bearer(token_without_session(2**31 - 1)))
    assert r.status_code == 404
    assert r.json() == {"detail": "User not found"}


async def test_token_for_huge_user_id_is_404(client: httpx.AsyncClient) -> None:
    token = crafted_token(fresh_claims(99999999999999999999, "access"))
    r = await client.get(f"{API}/users/me", headers=bearer(token))
    assert r.status_code == 404
    assert r.json() == {"detail": "User not found"}


@pytest.mark.parametrize(
    "route",
    [
        ("GET", "/users/me", None),
        ("POST", "/login/test-token", None),
        ("GET", "/items/", None),
        ("POST", "/items/", {"title": "An item"}),
    ],
    ids=route_id,
)
async def test_token_of_inactive_user_is_400(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account, route: tuple[str, str, Any]
) -> None:
    await deactivate(client, superuser, normal_user)
    r = await call(client, route, normal_user.headers)
    assert r.status_code == 400
    assert r.json() == INACTIVE_USER


async def test_password_change_ends_the_other_sessions_and_keeps_this_one(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    other = await login_headers(client, normal_user.email, normal_user.password)
    changed = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": random_lower_string()},
    )
    assert changed.status_code == 200
    r = await client.get(f"{API}/users/me", headers=other)
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS
    assert (await client.get(f"{API}/users/me", headers=normal_user.headers)).status_code == 200


async def test_token_issued_after_password_change_works(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    new_password = random_lower_string()
    changed = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": new_password},
    )
    assert changed.status_code == 200
    headers = await login_headers(client, normal_user.email, new_password)
    r = await client.get(f"{API}/users/me", headers=headers)
    assert r.status_code == 200
    assert r.json()["id"] == normal_user.id


async def test_admin_password_change_revokes_the_users_tokens(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    changed = await client.patch(
        f"{API}/users/{normal_user.id}",
        headers=superuser.headers,
        json={"password": random_lower_string()},
    )
    assert changed.status_code == 200
    r = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == INVALID_CREDENTIALS


async def test_password_change_leaves_other_users_tokens_alone(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    bystander = await make_account(client, session)
    await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": random_lower_string()},
    )
    r = await client.get(f"{API}/users/me", headers=bystander.headers)
    assert r.status_code == 200
