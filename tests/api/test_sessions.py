"""Sessions over the REST API: logout, the sessions list, ending sessions, refresh tokens,
and what password changes, resets, deactivation and deletion do to them."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import create_reset_token
from app.db import session_scope
from app.models import User, UserSession, utcnow
from app.services import messages
from tests.conftest import Account, make_account
from tests.factories import random_lower_string

API = settings.API_V1_STR
INVALID_CREDENTIALS = {"detail": "Could not validate credentials"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def log_in(
    client: httpx.AsyncClient, account: Account, user_agent: str = "pytest"
) -> dict[str, Any]:
    r = await client.post(
        f"{API}/login/access-token",
        data={"username": account.email, "password": account.password},
        headers={"User-Agent": user_agent},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(f"{API}/users/me", headers=bearer(token))


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(f"{API}/login/refresh", json={"refresh_token": refresh_token})


async def sessions_of(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/users/me/sessions", headers=bearer(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["data"])
    data: list[dict[str, Any]] = body["data"]
    return data


# Login ---------------------------------------------------------------------------------


async def test_login_answers_the_template_fields_and_the_new_ones(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    body = await log_in(client, normal_user)
    assert body["token_type"] == "bearer"
    assert set(body) == {
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "device_token",
    }
    assert body["expires_in"] == settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60
    assert (await me(client, body["access_token"])).status_code == 200


# Logout --------------------------------------------------------------------------------


async def test_logout_refuses_the_token_like_an_invalid_one(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    body = await log_in(client, normal_user)
    r = await client.post(f"{API}/logout", headers=bearer(body["access_token"]))
    assert r.status_code == 200
    assert r.json() == {"message": messages.LOGGED_OUT}
    after = await me(client, body["access_token"])
    assert after.status_code == 403
    assert after.json() == INVALID_CREDENTIALS
    assert (await refresh(client, body["refresh_token"])).status_code == 403
    # Logging out again: the token no longer speaks for anyone.
    again = await client.post(f"{API}/logout", headers=bearer(body["access_token"]))
    assert again.status_code == 403
    # The account's other session is left alone.
    assert (await me(client, normal_user.token)).status_code == 200


async def test_logout_needs_a_token(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/logout")
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}


# The sessions list ---------------------------------------------------------------------


async def test_sessions_list_marks_the_current_one(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    firefox = await log_in(client, normal_user, "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
    listed = await sessions_of(client, firefox["access_token"])
    assert len(listed) == 2
    assert set(listed[0]) == {
        "id",
        "created_at",
        "last_used_at",
        "expires_at",
        "user_agent",
        "ip_address",
        "current",
    }
    current = [entry for entry in listed if entry["current"]]
    assert len(current) == 1
    assert current[0]["user_agent"].endswith("Firefox/133.0")
    assert current[0]["ip_address"] == "127.0.0.1"
    other = await sessions_of(client, normal_user.token)
    assert [entry["current"] for entry in other].count(True) == 1
    assert {entry["id"] for entry in other} == {entry["id"] for entry in listed}


async def test_a_user_sees_only_their_own_sessions(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    stranger = await make_account(client, session)
    mine = {entry["id"] for entry in await sessions_of(client, normal_user.token)}
    theirs = {entry["id"] for entry in await sessions_of(client, stranger.token)}
    assert mine and theirs and not mine & theirs


async def test_an_oversized_user_agent_is_clipped(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    body = await log_in(client, normal_user, "x" * 5000)
    listed = await sessions_of(client, body["access_token"])
    assert [len(entry["user_agent"]) for entry in listed if entry["current"]] == [255]


# Ending sessions -----------------------------------------------------------------------


async def test_ending_one_session_stops_its_tokens_only(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    other = await log_in(client, normal_user)
    listed = await sessions_of(client, other["access_token"])
    other_id = next(entry["id"] for entry in listed if entry["current"])
    r = await client.delete(f"{API}/users/me/sessions/{other_id}", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json() == {"message": messages.SESSION_ENDED}
    assert (await me(client, other["access_token"])).json() == INVALID_CREDENTIALS
    assert (await me(client, normal_user.token)).status_code == 200
    again = await client.delete(f"{API}/users/me/sessions/{other_id}", headers=normal_user.headers)
    assert again.status_code == 404
    assert again.json() == {"detail": messages.SESSION_NOT_FOUND}


@pytest.mark.parametrize("session_id", [0, 2**31, 2**40])
async def test_ending_an_impossible_session_is_404(
    client: httpx.AsyncClient, normal_user: Account, session_id: int
) -> None:
    r = await client.delete(f"{API}/users/me/sessions/{session_id}", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == {"detail": messages.SESSION_NOT_FOUND}


async def test_nobody_ends_another_users_session(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    stranger = await make_account(client, session)
    theirs = (await sessions_of(client, stranger.token))[0]["id"]
    r = await client.delete(f"{API}/users/me/sessions/{theirs}", headers=normal_user.headers)
    assert r.status_code == 404
    assert (await me(client, stranger.token)).status_code == 200


async def test_ending_the_others_keeps_the_current_one(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    others = [await log_in(client, normal_user) for _ in range(2)]
    r = await client.delete(f"{API}/users/me/sessions", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json() == {"message": messages.SESSIONS_ENDED.format(count=2)}
    for other in others:
        assert (await me(client, other["access_token"])).json() == INVALID_CREDENTIALS
    assert (await me(client, normal_user.token)).status_code == 200
    assert len(await sessions_of(client, normal_user.token)) == 1


async def test_superusers_list_and_end_a_users_sessions(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    path = f"{API}/users/{normal_user.id}/sessions"
    listed = await client.get(path, headers=superuser.headers)
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["data"][0]["current"] is False
    ended = await client.delete(path, headers=superuser.headers)
    assert ended.json() == {"message": messages.SESSIONS_ENDED.format(count=1)}
    assert (await me(client, normal_user.token)).json() == INVALID_CREDENTIALS
    assert (await client.get(path, headers=superuser.headers)).json() == {"data": [], "count": 0}


async def test_only_superusers_see_other_users_sessions(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    stranger = await make_account(client, session)
    for method in ("GET", "DELETE"):
        r = await client.request(
            method, f"{API}/users/{stranger.id}/sessions", headers=normal_user.headers
        )
        assert r.status_code == 403
        assert r.json() == {"detail": messages.NOT_ENOUGH_PRIVILEGES}
    assert (await me(client, stranger.token)).status_code == 200


@pytest.mark.parametrize("user_id", [2**31 - 1, 2**40])
async def test_sessions_of_a_missing_user_are_404(
    client: httpx.AsyncClient, superuser: Account, user_id: int
) -> None:
    for method in ("GET", "DELETE"):
        r = await client.request(
            method, f"{API}/users/{user_id}/sessions", headers=superuser.headers
        )
        assert r.status_code == 404
        assert r.json() == {"detail": messages.USER_NOT_FOUND}


async def test_an_idle_or_expired_session_is_refused(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    idle, old = await log_in(client, normal_user), await log_in(client, normal_user)
    ids = {
        entry["current"]: entry["id"] for entry in await sessions_of(client, idle["access_token"])
    }
    idle_id = ids[True]
    old_id = next(
        entry["id"] for entry in await sessions_of(client, old["access_token"]) if entry["current"]
    )
    long_ago = utcnow().replace(year=2000)
    async with session_scope() as db:
        await db.exec(
            update(UserSession).where(col(UserSession.id) == idle_id).values(last_used_at=long_ago)
        )
        await db.exec(
            update(UserSession).where(col(UserSession.id) == old_id).values(expires_at=long_ago)
        )
        await db.commit()
    for body in (idle, old):
        assert (await me(client, body["access_token"])).json() == INVALID_CREDENTIALS
        assert (await refresh(client, body["refresh_token"])).status_code == 403
    assert (await me(client, normal_user.token)).status_code == 200


async def test_last_use_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    body = await log_in(client, normal_user)
    token = body["access_token"]
    current = next(entry for entry in await sessions_of(client, token) if entry["current"])
    stale = utcnow() - timedelta(minutes=2)
    async with session_scope() as db:
        await db.exec(
            update(UserSession)
            .where(col(UserSession.id) == current["id"])
            .values(last_used_at=stale)
        )
        await db.commit()
    await me(client, token)
    touched = next(entry for entry in await sessions_of(client, token) if entry["current"])
    assert touched["last_used_at"] > current["last_used_at"]
    await me(client, token)
    assert next(e for e in await sessions_of(client, token) if e["current"]) == touched


# Refresh tokens ------------------------------------------------------------------------


async def test_refresh_gives_a_new_pair_and_retires_the_old_refresh_token(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    first = await log_in(client, normal_user)
    r = await refresh(client, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert set(second) == {"access_token", "token_type", "refresh_token", "expires_in"}
    assert second["refresh_token"] != first["refresh_token"]
    assert (await me(client, second["access_token"])).status_code == 200
    third = await refresh(client, second["refresh_token"])
    assert third.status_code == 200
    # One session all along.
    assert len(await sessions_of(client, third.json()["access_token"])) == 2


async def test_a_retired_refresh_token_presented_again_ends_the_session(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    stolen = await log_in(client, normal_user)
    rotated = (await refresh(client, stolen["refresh_token"])).json()
    replay = await refresh(client, stolen["refresh_token"])
    assert replay.status_code == 403
    assert replay.json() == INVALID_CREDENTIALS
    # Whoever refreshed last is out too: both log in again.
    assert (await me(client, rotated["access_token"])).json() == INVALID_CREDENTIALS
    assert (await refresh(client, rotated["refresh_token"])).status_code == 403
    assert (await me(client, normal_user.token)).status_code == 200


async def test_two_refreshes_with_one_token_at_once_make_one_winner(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    body = await log_in(client, normal_user)
    answers = await asyncio.gather(*(refresh(client, body["refresh_token"]) for _ in range(2)))
    statuses = sorted(answer.status_code for answer in answers)
    # The loser's copy was retired by the winner: taken for theft, the session ends.
    assert statuses == [200, 403]


@pytest.mark.parametrize("kind", ["garbage", "access token", "reset token", "too long"])
async def test_refresh_refuses_what_is_not_a_refresh_token(
    client: httpx.AsyncClient, normal_user: Account, kind: str
) -> None:
    token = {
        "garbage": "garbage",
        "access token": normal_user.token,
        "reset token": create_reset_token(normal_user.id),
        "too long": "x" * 5000,
    }[kind]
    r = await refresh(client, token)
    if kind == "too long":
        assert r.status_code == 422
    else:
        assert r.status_code == 403
        assert r.json() == INVALID_CREDENTIALS
    assert (await me(client, normal_user.token)).status_code == 200


# What ends sessions besides their owner ------------------------------------------------


async def test_password_reset_ends_every_session(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/reset-password/",
        json={"token": create_reset_token(normal_user.id), "new_password": random_lower_string()},
    )
    assert r.status_code == 200
    assert (await me(client, normal_user.token)).json() == INVALID_CREDENTIALS


async def test_deactivation_ends_every_session(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    path = f"{API}/users/{normal_user.id}"
    assert (
        await client.patch(path, headers=superuser.headers, json={"is_active": False})
    ).is_success
    inactive = await me(client, normal_user.token)
    assert inactive.status_code == 400
    assert inactive.json() == {"detail": messages.INACTIVE_USER}
    assert (
        await client.patch(path, headers=superuser.headers, json={"is_active": True})
    ).is_success
    # Reactivated, the account starts from a new login.
    assert (await me(client, normal_user.token)).json() == INVALID_CREDENTIALS


async def test_a_superuser_changing_their_own_password_keeps_their_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await make_account(client, session, superuser=True)
    other = await log_in(client, admin)
    r = await client.patch(
        f"{API}/users/{admin.id}", headers=admin.headers, json={"password": random_lower_string()}
    )
    assert r.status_code == 200
    assert (await me(client, admin.token)).status_code == 200
    assert (await me(client, other["access_token"])).json() == INVALID_CREDENTIALS


# The last active superuser -------------------------------------------------------------


@pytest.fixture
async def only_superuser(
    client: httpx.AsyncClient, session: AsyncSession
) -> AsyncIterator[Account]:
    """A superuser who is, for the test, the only active one (the others are set aside
    and given back afterwards)."""
    admin = await make_account(client, session, superuser=True)
    async with session_scope() as db:
        others = (
            await db.exec(
                update(User)
                .where(col(User.is_superuser), col(User.is_active), col(User.id) != admin.id)
                .values(is_active=False)
                .returning(col(User.id))
            )
        ).all()
        await db.commit()
    try:
        yield admin
    finally:
        async with session_scope() as db:
            await db.exec(
                update(User)
                .where(col(User.id).in_([row[0] for row in others]))
                .values(is_active=True)
            )
            await db.commit()


@pytest.mark.parametrize("change", [{"is_superuser": False}, {"is_active": False}])
async def test_the_last_superuser_cannot_be_demoted_or_deactivated(
    client: httpx.AsyncClient, only_superuser: Account, change: dict[str, bool]
) -> None:
    r = await client.patch(
        f"{API}/users/{only_superuser.id}", headers=only_superuser.headers, json=change
    )
    assert r.status_code == 400
    assert r.json() == {"detail": messages.LAST_SUPERUSER}
    assert (await me(client, only_superuser.token)).json()["is_superuser"] is True


async def test_two_superusers_deleting_each_other_at_once_leave_one(
    client: httpx.AsyncClient, session: AsyncSession, only_superuser: Account
) -> None:
    second = await make_account(client, session, superuser=True)
    answers = await asyncio.gather(
        client.delete(f"{API}/users/{second.id}", headers=only_superuser.headers),
        client.delete(f"{API}/users/{only_superuser.id}", headers=second.headers),
    )
    statuses = sorted(answer.status_code for answer in answers)
    # One wins; the other finds nobody else left (or, on SQLite, a busy database: 503;
    # or its caller already gone: 404).
    assert statuses[0] == 200 and statuses[1] in (400, 404, 503), [a.text for a in answers]
    survivors = [a for a in (only_superuser, second) if (await me(client, a.token)).is_success]
    assert len(survivors) == 1


async def test_two_superusers_demoting_each_other_at_once_leave_one(
    client: httpx.AsyncClient, session: AsyncSession, only_superuser: Account
) -> None:
    second = await make_account(client, session, superuser=True)
    answers = await asyncio.gather(
        client.patch(
            f"{API}/users/{second.id}", headers=only_superuser.headers, json={"is_superuser": False}
        ),
        client.patch(
            f"{API}/users/{only_superuser.id}", headers=second.headers, json={"is_superuser": False}
        ),
    )
    statuses = sorted(answer.status_code for answer in answers)
    # One wins; the other finds nobody else left (or, on SQLite, a busy database: 503).
    assert statuses[0] == 200 and statuses[1] in (400, 503), [a.text for a in answers]
    remaining = [
        account
        for account in (only_superuser, second)
        if (await me(client, account.token)).json()["is_superuser"]
    ]
    assert len(remaining) == 1


async def test_a_login_past_the_cap_ends_the_session_unused_longest(
    client: httpx.AsyncClient, normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_SESSIONS_PER_USER", 3)
    # normal_user.token is the oldest; using it makes another one the oldest in use.
    second = await log_in(client, normal_user)
    third = await log_in(client, normal_user)
    async with session_scope() as db:
        await db.exec(
            update(UserSession)
            .where(col(UserSession.user_id) == normal_user.id)
            .values(last_used_at=UserSession.created_at)
        )
        await db.commit()
    await log_in(client, normal_user)
    assert (await me(client, normal_user.token)).json() == INVALID_CREDENTIALS
    for body in (second, third):
        assert (await me(client, body["access_token"])).status_code == 200
    assert len(await sessions_of(client, second["access_token"])) == 3
