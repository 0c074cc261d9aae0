"""The users routes: the caller's own account, sign-up, and superuser administration."""

import asyncio
from collections.abc import Awaitable, Iterable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.models import Item, User
from tests.conftest import Account, make_account
from tests.factories import create_item, random_email, random_lower_string

API = settings.API_V1_STR
NOT_ENOUGH_PRIVILEGES = {"detail": "The user doesn't have enough privileges"}
EMAIL_TAKEN_SIGNUP = {"detail": "The user with this email already exists in the system"}
EMAIL_TAKEN_ADMIN = {"detail": "The user with this email already exists in the system."}
EMAIL_TAKEN_UPDATE = {"detail": "User with this email already exists"}
SELF_DELETE = {"detail": "Super users are not allowed to delete themselves"}
USER_DELETED = {"message": "User deleted successfully"}
PASSWORD_UPDATED = {"message": "Password updated successfully"}
PUBLIC_FIELDS = {
    "id",
    "email",
    "is_active",
    "is_superuser",
    "full_name",
    "created_at",
    "updated_at",
    # Issue #25: whether the owner followed a link mailed to the address.
    "email_verified",
    # ... and the address they asked to move to, until they confirm it.
    "pending_email",
    # ... and whether logging in asks for a second factor.
    "two_factor_enabled",
}

# 321 characters, each part within its own limit, so only the total is too long.
TOO_LONG_EMAIL = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.{'e' * 60}.com"
INVALID_EMAILS = ["not-an-email", "missing-domain@", "@example.com", "two@@example.com"]

# What sign-up and admin creation both refuse with 422, one field at a time.
INVALID_NEW_ACCOUNT_FIELDS = [
    {"email": TOO_LONG_EMAIL},
    *({"email": email} for email in INVALID_EMAILS),
    {"email": None},
    {"password": "x" * 7},
    {"password": "x" * 129},
    {"password": None},
    {"full_name": "x" * 256},
]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        f"{API}/login/access-token", data={"username": email, "password": password}
    )


async def count_rows(session: AsyncSession, model: type[User] | type[Item], **where: Any) -> int:
    """Rows in the database now (a fresh transaction, so other sessions' commits show)."""
    await session.commit()
    statement = select(func.count()).select_from(model)
    for column, value in where.items():
        statement = statement.where(getattr(model, column) == value)
    return (await session.exec(statement)).one()


async def owner(session: AsyncSession, account: Account) -> User:
    user = await session.get(User, account.id)
    assert user is not None
    return user


async def assert_one_wins(
    session: AsyncSession,
    email: str,
    requests: Iterable[Awaitable[httpx.Response]],
    status: int,
    detail: dict[str, str],
) -> None:
    """Racing requests that all claim `email`: one succeeds, every other one gets the
    documented `status` and `detail` (never a 500), and one row ends up with it."""
    responses = await asyncio.gather(*requests)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [status] * (len(responses) - 1), [r.text for r in responses]
    assert all(r.json() == detail for r in responses if r.status_code == status)
    assert await count_rows(session, User, email=email) == 1


# GET /users/ ------------------------------------------------------------------------


async def test_superuser_lists_users_with_count(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    accounts = [await make_account(client, session) for _ in range(3)]
    r = await client.get(f"{API}/users/", headers=superuser.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 4
    assert {u["email"] for u in body["data"]} == {superuser.email, *(a.email for a in accounts)}
    assert all(set(u) == PUBLIC_FIELDS for u in body["data"])


async def test_users_are_listed_newest_first(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    accounts = [await make_account(client, session) for _ in range(4)]
    r = await client.get(f"{API}/users/", headers=superuser.headers)
    ids = [u["id"] for u in r.json()["data"]]
    assert ids == [a.id for a in reversed(accounts)] + [superuser.id]


@pytest.mark.parametrize(("skip", "limit"), [(0, 2), (1, 2), (2, 3), (4, 10), (6, 5), (0, 1000)])
async def test_users_list_pages_with_skip_and_limit(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account, skip: int, limit: int
) -> None:
    accounts = [await make_account(client, session) for _ in range(5)]
    newest_first = [a.id for a in reversed(accounts)] + [superuser.id]
    r = await client.get(
        f"{API}/users/", headers=superuser.headers, params={"skip": skip, "limit": limit}
    )
    assert r.status_code == 200
    assert [u["id"] for u in r.json()["data"]] == newest_first[skip : skip + limit]
    assert r.json()["count"] == 6


async def test_users_list_far_past_the_end_is_empty_with_count(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.get(f"{API}/users/", headers=superuser.headers, params={"skip": 10**6})
    assert r.status_code == 200
    assert r.json() == {"data": [], "count": 1}


async def test_users_list_default_limit_is_100(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    session.add_all(User(email=random_email(), hashed_password="x") for _ in range(101))
    await session.commit()
    r = await client.get(f"{API}/users/", headers=superuser.headers)
    assert len(r.json()["data"]) == 100
    assert r.json()["count"] == 102


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"limit": -1}, {"skip": -1}, {"skip": "x"}, {"limit": "x"}],
)
async def test_users_list_rejects_out_of_range_paging(
    client: httpx.AsyncClient, superuser: Account, params: dict[str, Any]
) -> None:
    r = await client.get(f"{API}/users/", headers=superuser.headers, params=params)
    assert r.status_code == 422


async def test_normal_user_cannot_list_users(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/users/", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PRIVILEGES


# POST /users/ -----------------------------------------------------------------------


async def test_superuser_creates_a_user(client: httpx.AsyncClient, superuser: Account) -> None:
    email, password = random_email(), random_lower_string()
    r = await client.post(
        f"{API}/users/",
        headers=superuser.headers,
        json={"email": email, "password": password, "full_name": "New Person"},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PUBLIC_FIELDS
    assert body["email"] == email
    assert body["full_name"] == "New Person"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert (await login(client, email, password)).status_code == 200


async def test_superuser_creates_a_superuser(client: httpx.AsyncClient, superuser: Account) -> None:
    email, password = random_email(), random_lower_string()
    r = await client.post(
        f"{API}/users/",
        headers=superuser.headers,
        json={"email": email, "password": password, "is_superuser": True},
    )
    assert r.status_code == 200
    assert r.json()["is_superuser"] is True
    token = (await login(client, email, password)).json()["access_token"]
    listed = await client.get(f"{API}/users/", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200


async def test_superuser_creates_an_inactive_user_who_cannot_log_in(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    email, password = random_email(), random_lower_string()
    r = await client.post(
        f"{API}/users/",
        headers=superuser.headers,
        json={"email": email, "password": password, "is_active": False},
    )
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    denied = await login(client, email, password)
    assert denied.status_code == 400
    assert denied.json() == {"detail": "Inactive user"}


async def test_created_user_password_is_stored_hashed(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    email, password = random_email(), random_lower_string()
    r = await client.post(
        f"{API}/users/", headers=superuser.headers, json={"email": email, "password": password}
    )
    user = await session.get(User, r.json()["id"])
    assert user is not None
    assert user.hashed_password != password
    assert password not in user.hashed_password


async def test_creating_a_user_with_taken_email_is_400(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/users/",
        headers=superuser.headers,
        json={"email": normal_user.email, "password": random_lower_string()},
    )
    assert r.status_code == 400
    assert r.json() == EMAIL_TAKEN_ADMIN


async def test_normal_user_cannot_create_users(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/users/",
        headers=normal_user.headers,
        json={"email": random_email(), "password": random_lower_string()},
    )
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PRIVILEGES


@pytest.mark.parametrize("change", INVALID_NEW_ACCOUNT_FIELDS)
async def test_creating_a_user_with_invalid_fields_is_422(
    client: httpx.AsyncClient, superuser: Account, change: dict[str, Any]
) -> None:
    payload = {"email": random_email(), "password": random_lower_string(), **change}
    payload = {key: value for key, value in payload.items() if value is not None}
    r = await client.post(f"{API}/users/", headers=superuser.headers, json=payload)
    assert r.status_code == 422


@pytest.mark.parametrize(
    "change", [{"password": "x" * 8}, {"password": "x" * 128}, {"full_name": "x" * 255}]
)
async def test_creating_a_user_accepts_fields_at_their_limits(
    client: httpx.AsyncClient, superuser: Account, change: dict[str, Any]
) -> None:
    payload = {"email": random_email(), "password": random_lower_string(), **change}
    r = await client.post(f"{API}/users/", headers=superuser.headers, json=payload)
    assert r.status_code == 200
    assert (await login(client, payload["email"], payload["password"])).status_code == 200


async def test_concurrent_admin_creations_with_one_email_make_one_user(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    email = random_email()
    await assert_one_wins(
        session,
        email,
        (
            client.post(
                f"{API}/users/",
                headers=superuser.headers,
                json={"email": email, "password": random_lower_string()},
            )
            for _ in range(10)
        ),
        400,
        EMAIL_TAKEN_ADMIN,
    )


# GET /users/me ----------------------------------------------------------------------


async def test_normal_user_reads_own_profile(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PUBLIC_FIELDS
    assert body["id"] == normal_user.id
    assert body["email"] == normal_user.email
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert body["full_name"] is None


async def test_superuser_reads_own_profile(client: httpx.AsyncClient, superuser: Account) -> None:
    r = await client.get(f"{API}/users/me", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json()["email"] == settings.FIRST_SUPERUSER
    assert r.json()["is_superuser"] is True


# PATCH /users/me --------------------------------------------------------------------


async def test_user_updates_own_full_name_and_email(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    new_email = random_email()
    r = await client.patch(
        f"{API}/users/me",
        headers=normal_user.headers,
        json={"full_name": "Renamed", "email": new_email},
    )
    assert r.status_code == 200
    assert r.json()["full_name"] == "Renamed"
    assert r.json()["email"] == new_email
    me = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert me.json()["email"] == new_email


async def test_user_logs_in_with_changed_email(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    new_email = random_email()
    await client.patch(f"{API}/users/me", headers=normal_user.headers, json={"email": new_email})
    assert (await login(client, new_email, normal_user.password)).status_code == 200
    assert (await login(client, normal_user.email, normal_user.password)).status_code == 400


async def test_update_me_applies_only_the_fields_sent(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    await client.patch(f"{API}/users/me", headers=normal_user.headers, json={"full_name": "First"})
    new_email = random_email()
    r = await client.patch(
        f"{API}/users/me", headers=normal_user.headers, json={"email": new_email}
    )
    assert r.status_code == 200
    assert r.json()["full_name"] == "First"
    r = await client.patch(
        f"{API}/users/me", headers=normal_user.headers, json={"full_name": "Two"}
    )
    assert r.json()["email"] == new_email
    assert r.json()["full_name"] == "Two"


async def test_update_me_can_clear_full_name(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    await client.patch(f"{API}/users/me", headers=normal_user.headers, json={"full_name": "Name"})
    r = await client.patch(f"{API}/users/me", headers=normal_user.headers, json={"full_name": None})
    assert r.status_code == 200
    assert r.json()["full_name"] is None


async def test_update_me_with_null_email_keeps_the_email(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(f"{API}/users/me", headers=normal_user.headers, json={"email": None})
    assert r.status_code == 200
    assert r.json()["email"] == normal_user.email


async def test_update_me_ignores_privilege_fields(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me",
        headers=normal_user.headers,
        json={"is_superuser": True, "is_active": False},
    )
    assert r.status_code == 200
    assert r.json()["is_superuser"] is False
    assert r.json()["is_active"] is True
    listed = await client.get(f"{API}/users/", headers=normal_user.headers)
    assert listed.status_code == 403


async def test_update_me_to_another_users_email_is_409(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me", headers=normal_user.headers, json={"email": other_user.email}
    )
    assert r.status_code == 409
    assert r.json() == EMAIL_TAKEN_UPDATE
    me = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert me.json()["email"] == normal_user.email


async def test_update_me_to_own_email_is_allowed(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me", headers=normal_user.headers, json={"email": normal_user.email}
    )
    assert r.status_code == 200
    assert r.json()["email"] == normal_user.email


async def test_update_me_moves_updated_at_but_not_created_at(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    before = (await client.get(f"{API}/users/me", headers=normal_user.headers)).json()
    await asyncio.sleep(0.01)
    r = await client.patch(
        f"{API}/users/me", headers=normal_user.headers, json={"full_name": "Changed"}
    )
    after = r.json()
    assert moment(after["created_at"]) == moment(before["created_at"])
    assert moment(after["updated_at"]) > moment(before["updated_at"])


@pytest.mark.parametrize(
    "payload",
    [
        {"email": TOO_LONG_EMAIL},
        *({"email": email} for email in INVALID_EMAILS),
        {"full_name": "x" * 256},
    ],
)
async def test_update_me_with_invalid_fields_is_422(
    client: httpx.AsyncClient, normal_user: Account, payload: dict[str, Any]
) -> None:
    r = await client.patch(f"{API}/users/me", headers=normal_user.headers, json=payload)
    assert r.status_code == 422


async def test_update_me_accepts_full_name_of_255(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me", headers=normal_user.headers, json={"full_name": "x" * 255}
    )
    assert r.status_code == 200
    assert r.json()["full_name"] == "x" * 255


async def test_concurrent_email_changes_to_one_address_succeed_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    accounts = [await make_account(client, session) for _ in range(10)]
    email = random_email()
    await assert_one_wins(
        session,
        email,
        (
            client.patch(f"{API}/users/me", headers=account.headers, json={"email": email})
            for account in accounts
        ),
        409,
        EMAIL_TAKEN_UPDATE,
    )


# PATCH /users/me/password -----------------------------------------------------------


async def test_user_changes_own_password(client: httpx.AsyncClient, normal_user: Account) -> None:
    new_password = random_lower_string()
    r = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": new_password},
    )
    assert r.status_code == 200
    assert r.json() == PASSWORD_UPDATED
    assert (await login(client, normal_user.email, new_password)).status_code == 200
    old = await login(client, normal_user.email, normal_user.password)
    assert old.status_code == 400
    assert old.json() == {"detail": "Incorrect email or password"}


async def test_password_change_with_wrong_current_password_is_400(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": "wrong-password", "new_password": random_lower_string()},
    )
    assert r.status_code == 400
    assert r.json() == {"detail": "Incorrect password"}
    assert (await login(client, normal_user.email, normal_user.password)).status_code == 200


async def test_password_change_to_the_same_password_is_400(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": normal_user.password},
    )
    assert r.status_code == 400
    assert r.json() == {"detail": "New password cannot be the same as the current one"}


async def test_wrong_current_password_is_reported_before_same_password(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": "wrong-password", "new_password": "wrong-password"},
    )
    assert r.status_code == 400
    assert r.json() == {"detail": "Incorrect password"}


@pytest.mark.parametrize("field", ["current_password", "new_password"])
@pytest.mark.parametrize("length", [7, 129])
async def test_password_change_with_invalid_length_is_422(
    client: httpx.AsyncClient, normal_user: Account, field: str, length: int
) -> None:
    payload = {"current_password": normal_user.password, "new_password": random_lower_string()}
    payload[field] = "x" * length
    r = await client.patch(f"{API}/users/me/password", headers=normal_user.headers, json=payload)
    assert r.status_code == 422


async def test_password_change_without_fields_is_422(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(f"{API}/users/me/password", headers=normal_user.headers, json={})
    assert r.status_code == 422


# DELETE /users/me -------------------------------------------------------------------


async def test_user_deletes_own_account(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    r = await client.delete(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json() == USER_DELETED
    assert await count_rows(session, User, id=normal_user.id) == 0
    denied = await login(client, normal_user.email, normal_user.password)
    assert denied.json() == {"detail": "Incorrect email or password"}


async def test_deleting_own_account_deletes_own_items(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    for _ in range(3):
        await create_item(session, await owner(session, normal_user))
    await create_item(session, await owner(session, other_user))
    r = await client.delete(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 200
    assert await count_rows(session, Item, owner_id=normal_user.id) == 0
    assert await count_rows(session, Item, owner_id=other_user.id) == 1


async def test_superuser_cannot_delete_themselves_via_me(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    r = await client.delete(f"{API}/users/me", headers=superuser.headers)
    assert r.status_code == 403
    assert r.json() == SELF_DELETE
    assert await count_rows(session, User, id=superuser.id) == 1


# POST /users/signup -----------------------------------------------------------------


async def test_signup_creates_an_active_normal_user(client: httpx.AsyncClient) -> None:
    email, password = random_email(), random_lower_string()
    r = await client.post(
        f"{API}/users/signup",
        json={"email": email, "password": password, "full_name": "Signed Up"},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PUBLIC_FIELDS
    assert body["email"] == email
    assert body["full_name"] == "Signed Up"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert (await login(client, email, password)).status_code == 200


async def test_signup_without_full_name_is_allowed(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/users/signup", json={"email": random_email(), "password": random_lower_string()}
    )
    assert r.status_code == 200
    assert r.json()["full_name"] is None


async def test_signup_cannot_grant_privileges(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/users/signup",
        json={
            "email": random_email(),
            "password": random_lower_string(),
            "is_superuser": True,
            "is_active": False,
        },
    )
    assert r.status_code == 200
    assert r.json()["is_superuser"] is False
    assert r.json()["is_active"] is True


async def test_signup_with_taken_email_is_400(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/users/signup",
        json={"email": normal_user.email, "password": random_lower_string()},
    )
    assert r.status_code == 400
    assert r.json() == EMAIL_TAKEN_SIGNUP


@pytest.mark.parametrize("change", INVALID_NEW_ACCOUNT_FIELDS)
async def test_signup_with_invalid_fields_is_422(
    client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    payload = {"email": random_email(), "password": random_lower_string(), **change}
    payload = {key: value for key, value in payload.items() if value is not None}
    r = await client.post(f"{API}/users/signup", json=payload)
    assert r.status_code == 422


@pytest.mark.parametrize(
    "change", [{"password": "x" * 8}, {"password": "x" * 128}, {"full_name": "x" * 255}]
)
async def test_signup_accepts_fields_at_their_limits(
    client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    payload = {"email": random_email(), "password": random_lower_string(), **change}
    r = await client.post(f"{API}/users/signup", json=payload)
    assert r.status_code == 200


async def test_concurrent_signups_with_one_email_make_one_user(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = random_email()
    await assert_one_wins(
        session,
        email,
        (
            client.post(
                f"{API}/users/signup", json={"email": email, "password": random_lower_string()}
            )
            for _ in range(10)
        ),
        400,
        EMAIL_TAKEN_SIGNUP,
    )


# GET /users/{user_id} ---------------------------------------------------------------


async def test_user_reads_self_by_id(client: httpx.AsyncClient, normal_user: Account) -> None:
    r = await client.get(f"{API}/users/{normal_user.id}", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json()["email"] == normal_user.email


async def test_superuser_reads_another_user_by_id(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    r = await client.get(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json()["id"] == normal_user.id
    assert r.json()["email"] == normal_user.email


async def test_normal_user_cannot_read_another_user(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account
) -> None:
    r = await client.get(f"{API}/users/{other_user.id}", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PRIVILEGES


async def test_normal_user_asking_for_missing_user_is_403(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/users/{normal_user.id + 1000}", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PRIVILEGES


async def test_superuser_asking_for_missing_user_is_404(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.get(f"{API}/users/{superuser.id + 1000}", headers=superuser.headers)
    assert r.status_code == 404
    assert r.json() == {"detail": "User not found"}


# PATCH /users/{user_id} -------------------------------------------------------------


async def test_superuser_updates_a_user(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    new_email = random_email()
    r = await client.patch(
        f"{API}/users/{normal_user.id}",
        headers=superuser.headers,
        json={"email": new_email, "full_name": "Edited", "is_superuser": True},
    )
    assert r.status_code == 200
    assert r.json()["email"] == new_email
    assert r.json()["full_name"] == "Edited"
    assert r.json()["is_superuser"] is True
    assert r.json()["is_active"] is True
    read = await client.get(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert read.json() == r.json()


async def test_admin_update_applies_only_the_fields_sent(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"full_name": "Kept"}
    )
    r = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"is_active": False}
    )
    assert r.status_code == 200
    assert r.json()["full_name"] == "Kept"
    assert r.json()["email"] == normal_user.email
    assert r.json()["is_active"] is False


async def test_admin_update_with_null_email_and_password_keeps_them(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/{normal_user.id}",
        headers=superuser.headers,
        json={"email": None, "password": None},
    )
    assert r.status_code == 200
    assert r.json()["email"] == normal_user.email
    assert r.json()["is_active"] is True
    assert r.json()["is_superuser"] is False
    assert (await login(client, normal_user.email, normal_user.password)).status_code == 200


async def test_admin_password_update_is_rehashed_and_usable(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    new_password = random_lower_string()
    r = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"password": new_password}
    )
    assert r.status_code == 200
    assert "password" not in r.json()
    assert "hashed_password" not in r.json()
    assert (await login(client, normal_user.email, new_password)).status_code == 200
    assert (await login(client, normal_user.email, normal_user.password)).status_code == 400
    await session.commit()
    stored = (await session.exec(select(User).where(User.id == normal_user.id))).one()
    await session.refresh(stored)
    assert stored.hashed_password != new_password


async def test_admin_can_deactivate_a_user(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"is_active": False}
    )
    assert r.status_code == 200
    denied = await login(client, normal_user.email, normal_user.password)
    assert denied.status_code == 400
    assert denied.json() == {"detail": "Inactive user"}


async def test_admin_update_of_missing_user_is_404(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.patch(
        f"{API}/users/{superuser.id + 1000}", headers=superuser.headers, json={"full_name": "X"}
    )
    assert r.status_code == 404
    assert r.json() == {"detail": "The user with this id does not exist in the system"}


async def test_admin_update_to_another_users_email_is_409(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account, other_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"email": other_user.email}
    )
    assert r.status_code == 409
    assert r.json() == EMAIL_TAKEN_UPDATE


async def test_admin_update_to_the_users_own_email_is_allowed(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/{normal_user.id}",
        headers=superuser.headers,
        json={"email": normal_user.email},
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"email": TOO_LONG_EMAIL},
        *({"email": email} for email in INVALID_EMAILS),
        {"password": "x" * 7},
        {"password": "x" * 129},
        {"full_name": "x" * 256},
        {"is_active": "sometimes"},
    ],
)
async def test_admin_update_with_invalid_fields_is_422(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account, payload: dict[str, Any]
) -> None:
    r = await client.patch(f"{API}/users/{normal_user.id}", headers=superuser.headers, json=payload)
    assert r.status_code == 422


async def test_concurrent_admin_email_changes_to_one_address_succeed_once(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    accounts = [await make_account(client, session) for _ in range(10)]
    email = random_email()
    await assert_one_wins(
        session,
        email,
        (
            client.patch(
                f"{API}/users/{account.id}", headers=superuser.headers, json={"email": email}
            )
            for account in accounts
        ),
        409,
        EMAIL_TAKEN_UPDATE,
    )


# DELETE /users/{user_id} ------------------------------------------------------------


async def test_superuser_deletes_a_user(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    r = await client.delete(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json() == USER_DELETED
    assert await count_rows(session, User, id=normal_user.id) == 0
    read = await client.get(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert read.status_code == 404


async def test_deleting_a_user_deletes_their_items(
    client: httpx.AsyncClient,
    session: AsyncSession,
    superuser: Account,
    normal_user: Account,
    other_user: Account,
) -> None:
    for _ in range(3):
        await create_item(session, await owner(session, normal_user))
    await create_item(session, await owner(session, other_user))
    await create_item(session, await owner(session, superuser))
    r = await client.delete(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert r.status_code == 200
    assert await count_rows(session, Item, owner_id=normal_user.id) == 0
    assert await count_rows(session, Item) == 2


async def test_superuser_deletes_another_superuser(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    admin = await make_account(client, session, superuser=True)
    r = await client.delete(f"{API}/users/{admin.id}", headers=superuser.headers)
    assert r.status_code == 200
    assert await count_rows(session, User, id=admin.id) == 0


async def test_superuser_cannot_delete_themselves_by_id(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    r = await client.delete(f"{API}/users/{superuser.id}", headers=superuser.headers)
    assert r.status_code == 403
    assert r.json() == SELF_DELETE
    assert await count_rows(session, User, id=superuser.id) == 1


async def test_deleting_a_missing_user_is_404(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.delete(f"{API}/users/{superuser.id + 1000}", headers=superuser.headers)
    assert r.status_code == 404
    assert r.json() == {"detail": "User not found"}


async def test_deleting_a_user_twice_is_404_the_second_time(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    first = await client.delete(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert first.status_code == 200
    second = await client.delete(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert second.status_code == 404
    assert second.json() == {"detail": "User not found"}


# Admin routes are closed to normal users --------------------------------------------


ADMIN_ROUTES = [
    ("GET", "/users/", None),
    ("POST", "/users/", {"email": "new-user@example.com", "password": "some-password"}),
    ("PATCH", "/users/{other}", {"full_name": "Hijacked"}),
    ("PATCH", "/users/{self}", {"is_superuser": True}),
    ("DELETE", "/users/{other}", None),
    ("DELETE", "/users/{self}", None),
    ("DELETE", "/users/{missing}", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES]
)
async def test_normal_user_is_refused_admin_routes(
    client: httpx.AsyncClient,
    session: AsyncSession,
    normal_user: Account,
    other_user: Account,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    path = path.format(self=normal_user.id, other=other_user.id, missing=other_user.id + 1000)
    r = await client.request(method, f"{API}{path}", headers=normal_user.headers, json=body)
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PRIVILEGES
    assert await count_rows(session, User) == 2
    me = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert me.json()["is_superuser"] is False


# Route order: /me and /signup are not user ids --------------------------------------


async def test_get_me_is_not_taken_for_a_user_id(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.get(f"{API}/users/me", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json()["id"] == superuser.id


async def test_patch_me_is_not_the_admin_update(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me", headers=normal_user.headers, json={"full_name": "Not Admin"}
    )
    assert r.status_code == 200
    assert r.json()["full_name"] == "Not Admin"


async def test_delete_me_is_not_the_admin_delete(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.delete(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json() == USER_DELETED


async def test_patch_me_password_is_its_own_route(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": random_lower_string()},
    )
    assert r.status_code == 200
    assert r.json() == PASSWORD_UPDATED


async def test_signup_needs_no_token(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/users/signup", json={"email": random_email(), "password": random_lower_string()}
    )
    assert r.status_code == 200


async def test_timestamps_are_utc(client: httpx.AsyncClient, normal_user: Account) -> None:
    body = (await client.get(f"{API}/users/me", headers=normal_user.headers)).json()
    for field in ("created_at", "updated_at"):
        offset = moment(body[field]).utcoffset()
        assert offset is not None
        assert offset.total_seconds() == 0
