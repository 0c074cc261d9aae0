"""Single sign-on through the REST API, against a real OpenID provider on loopback
(devtools/oidc: the `oidc-provider` package), driven through its login and consent pages."""

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import OidcProvider, settings
from app.core.security import create_reset_token
from app.models import SsoTicket, UserCreate, UserIdentity, utcnow
from app.services import messages, oidc, rate_limits, users
from app.services.auth import Login
from app.services.errors import BadRequest
from app.services.oidc import _ticket_id
from app.services.rate_limits import Limit
from app.services.two_factor import code_at, current_step
from devtools.oidc import CALLBACK_ORIGIN, CLIENT_ID, CLIENT_SECRET, LocalProvider
from devtools.oidc import sign_in_at_provider as at_provider
from devtools.servers import reserved_port
from tests.api.test_two_factor import turn_on
from tests.conftest import DEFAULT_RATES, Account, login_headers

API = settings.API_V1_STR
START = f"{API}/login/oidc/test"


def provider_settings(issuer: str, **overrides: object) -> OidcProvider:
    fields = {
        "name": "test",
        "display_name": "Test IdP",
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **overrides,
    }
    return OidcProvider.model_validate(fields)


@pytest.fixture
def sso(oidc_provider: LocalProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalProvider]:
    """The local provider as the app's provider "test"."""
    monkeypatch.setattr(settings, "OIDC_PROVIDERS", [provider_settings(oidc_provider.issuer)])
    monkeypatch.setattr(settings, "OIDC_CALLBACK_ORIGIN", CALLBACK_ORIGIN)
    yield oidc_provider


def subject(prefix: str = "user") -> str:
    """A login at the provider of this test's own: its address is <subject>@example.com."""
    return f"{prefix}-{secrets.token_hex(4)}"


async def start(client: httpx.AsyncClient, return_to: str = "api") -> str:
    response = await client.get(START, params={"return_to": return_to})
    assert response.status_code == 302, response.text
    return response.headers["location"]


def local(url: str) -> str:
    """Our callback URL as the in-process client asks for it."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.hostname}" == CALLBACK_ORIGIN, url
    return f"{parts.path}?{parts.query}"


async def sign_on(client: httpx.AsyncClient, login: str, *, consent: bool = True) -> httpx.Response:
    """The whole flow: our start, the provider's pages, our callback's answer."""
    callback = await at_provider(await start(client), login, consent=consent)
    return await client.get(local(callback))


async def ui_code(client: httpx.AsyncClient, login: str, *, consent: bool = True) -> str:
    """A flow started by the UI's button: the one-time code the callback sends it."""
    callback = await at_provider(await start(client, "ui"), login, consent=consent)
    response = await client.get(local(callback))
    assert response.status_code == 302
    landing = urlsplit(response.headers["location"])
    assert f"{landing.scheme}://{landing.netloc}" == settings.FRONTEND_HOST
    assert landing.path == oidc.UI_LANDING_PATH
    return parse_qs(landing.query)["code"][0]


async def redeem(session: AsyncSession, code: str) -> Login | oidc.LinkPending:
    """What the UI's /login/oidc page does with the code."""
    return await oidc.redeem_login_code(session, code, client="127.0.0.1", user_agent="test")


async def me(client: httpx.AsyncClient, access_token: str) -> dict[str, object]:
    response = await client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {access_token}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_no_provider_configured_changes_nothing(client: httpx.AsyncClient) -> None:
    assert settings.OIDC_PROVIDERS == []
    listed = await client.get(f"{API}/login/oidc")
    assert listed.json() == {"data": [], "count": 0}
    response = await client.get(START)
    assert response.status_code == 404
    assert response.json() == {"detail": messages.SSO_UNKNOWN_PROVIDER}


async def test_start_redirects_with_pkce_state_and_nonce(
    client: httpx.AsyncClient, sso: LocalProvider
) -> None:
    listed = (await client.get(f"{API}/login/oidc")).json()
    assert listed["data"] == [{"name": "test", "display_name": "Test IdP", "login_url": START}]
    location = await start(client)
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{sso.issuer}/auth?")
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [f"{CALLBACK_ORIGIN}{START}/callback"]
    assert query["nonce"] and query["code_challenge"] and query["state"]
    # The browser that started it keeps the state, out of reach of scripts.
    cookie = next(c for c in client.cookies.jar if c.name == "oidc_state")
    assert cookie.value == query["state"][0]
    assert cookie.has_nonstandard_attr("HttpOnly")


@pytest.mark.usefixtures("sso")
async def test_sign_up_then_sign_in_through_the_provider(client: httpx.AsyncClient) -> None:
    login = subject()
    first = await sign_on(client, login)
    assert first.status_code == 200, first.text
    user = await me(client, first.json()["access_token"])
    assert user["email"] == f"{login}@example.com"
    assert user["email_verified"] is True
    assert user["full_name"] == f"Test {login}"
    # The state cookie is gone once used.
    assert "oidc_state" not in client.cookies
    again = await sign_on(client, login)
    assert again.status_code == 200, again.text
    assert (await me(client, again.json()["access_token"]))["id"] == user["id"]
    # No password: the password form cannot log in to it.
    refused = await client.post(
        f"{API}/login/access-token", data={"username": user["email"], "password": "!"}
    )
    assert refused.status_code == 422 or refused.json()["detail"] == messages.INCORRECT_LOGIN
    headers = {"Authorization": f"Bearer {again.json()['access_token']}"}
    identities = (await client.get(f"{API}/users/me/identities", headers=headers)).json()
    assert identities["has_password"] is False
    assert [(i["provider"], i["display_name"], i["email"]) for i in identities["data"]] == [
        ("test", "Test IdP", f"{login}@example.com")
    ]


@pytest.mark.usefixtures("sso")
async def test_unverified_address_signs_up_unverified(client: httpx.AsyncClient) -> None:
    response = await sign_on(client, subject("unverified"))
    assert response.status_code == 200, response.text
    assert (await me(client, response.json()["access_token"]))["email_verified"] is False


async def test_closed_sign_up_creates_no_account(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sso: LocalProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        settings, "OIDC_PROVIDERS", [provider_settings(sso.issuer, allow_signup=False)]
    )
    login = subject()
    response = await sign_on(client, login)
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_SIGNUP_CLOSED.format(provider="Test IdP")}
    assert await users.get_user_by_email(session, f"{login}@example.com") is None


async def existing_account(session: AsyncSession, client: httpx.AsyncClient, login: str) -> Account:
    email, password = f"{login}@example.com", secrets.token_hex(8)
    user = await users.create_user(session, UserCreate(email=email, password=password))
    assert user.id is not None
    return Account(user.id, email, password, await login_headers(client, email, password))


@pytest.mark.usefixtures("sso")
async def test_link_to_an_existing_account_needs_its_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    login = subject()
    account = await existing_account(session, client, login)
    offered = await sign_on(client, login)
    assert offered.status_code == 409, offered.text
    body = offered.json()
    assert body["detail"] == messages.SSO_LINK_REQUIRED.format(provider="Test IdP")
    assert (body["email"], body["provider"]) == (account.email, "Test IdP")
    wrong = await client.post(
        f"{API}/login/oidc/link", json={"link_token": body["link_token"], "password": "wrong!!!"}
    )
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": messages.INCORRECT_LOGIN}
    linked = await client.post(
        f"{API}/login/oidc/link",
        json={"link_token": body["link_token"], "password": account.password},
    )
    assert linked.status_code == 200, linked.text
    assert (await me(client, linked.json()["access_token"]))["id"] == account.id
    # Taken once.
    again = await client.post(
        f"{API}/login/oidc/link",
        json={"link_token": body["link_token"], "password": account.password},
    )
    assert again.status_code == 400
    assert again.json() == {"detail": messages.SSO_INVALID_LINK}
    # Linked: the next sign-on logs straight in.
    direct = await sign_on(client, login)
    assert direct.status_code == 200, direct.text
    assert (await me(client, direct.json()["access_token"]))["id"] == account.id


@pytest.mark.usefixtures("sso")
async def test_unverified_address_is_never_linked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    login = subject("unverified")
    await existing_account(session, client, login)
    response = await sign_on(client, login)
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_UNVERIFIED_EMAIL.format(provider="Test IdP")}
    assert (await session.exec(select(UserIdentity))).all() == []


@pytest.mark.usefixtures("sso")
async def test_expired_link_offer_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    login = subject()
    account = await existing_account(session, client, login)
    token = (await sign_on(client, login)).json()["link_token"]
    await session.exec(
        update(SsoTicket)
        .where(col(SsoTicket.id) == _ticket_id(token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    response = await client.post(
        f"{API}/login/oidc/link", json={"link_token": token, "password": account.password}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_INVALID_LINK}


@pytest.mark.usefixtures("sso")
async def test_two_factor_still_applies(client: httpx.AsyncClient, session: AsyncSession) -> None:
    login = subject()
    account = await existing_account(session, client, login)
    secret, _ = await turn_on(client, account)
    token = (await sign_on(client, login)).json()["link_token"]
    linked = await client.post(
        f"{API}/login/oidc/link", json={"link_token": token, "password": account.password}
    )
    assert linked.status_code == 401
    assert linked.json()["detail"] == messages.TWO_FACTOR_REQUIRED
    # The identity is linked now; signing on again asks for the code as well.
    response = await sign_on(client, login)
    assert response.status_code == 401, response.text
    step = await client.post(
        f"{API}/login/2fa",
        json={
            "challenge": response.json()["challenge"],
            "code": code_at(secret, current_step() + 1),
        },
    )
    assert step.status_code == 200, step.text
    assert (await me(client, step.json()["access_token"]))["id"] == account.id


@pytest.mark.usefixtures("sso")
async def test_cancelled_at_the_provider(client: httpx.AsyncClient) -> None:
    response = await sign_on(client, subject(), consent=False)
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_REFUSED.format(provider="Test IdP")}


@pytest.mark.usefixtures("sso")
async def test_forged_state_is_refused(client: httpx.AsyncClient) -> None:
    callback = await at_provider(await start(client), subject())
    query = parse_qs(urlsplit(callback).query)
    code, state = query["code"][0], query["state"][0]
    # Another browser (no cookie, or its own) cannot finish this browser's login.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://test") as other:
        no_cookie = await other.get(f"{START}/callback", params={"code": code, "state": state})
        assert no_cookie.status_code == 400
        assert no_cookie.json() == {"detail": messages.SSO_INVALID_STATE}
        other.cookies.set("oidc_state", "forged", path=f"{API}/login/oidc")
        forged = await other.get(f"{START}/callback", params={"code": code, "state": "forged"})
        assert forged.status_code == 400
        assert forged.json() == {"detail": messages.SSO_INVALID_STATE}
    # Nor a state of our cookie's but not the one sent to the provider.
    wrong = await client.get(f"{START}/callback", params={"code": code, "state": state + "x"})
    assert wrong.json() == {"detail": messages.SSO_INVALID_STATE}
    # The real one still works: the refusals took nothing.
    assert (await client.get(local(callback))).status_code == 200


@pytest.mark.usefixtures("sso")
async def test_reused_state_is_refused(client: httpx.AsyncClient) -> None:
    callback = local(await at_provider(await start(client), subject()))
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert (await client.get(callback)).status_code == 200
    client.cookies.set("oidc_state", state, path=f"{API}/login/oidc")
    replay = await client.get(callback)
    assert replay.status_code == 400
    assert replay.json() == {"detail": messages.SSO_INVALID_STATE}


@pytest.mark.usefixtures("sso")
async def test_reused_code_is_refused(client: httpx.AsyncClient) -> None:
    login = subject()
    used = local(await at_provider(await start(client), login))
    assert (await client.get(used)).status_code == 200
    # A fresh flow of this browser presented with the code already traded.
    fresh = parse_qs(urlsplit(await at_provider(await start(client), login)).query)
    old_code = parse_qs(urlsplit(used).query)["code"][0]
    response = await client.get(
        f"{START}/callback", params={"code": old_code, "state": fresh["state"][0]}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_TOKEN_REFUSED.format(provider="Test IdP")}


async def edit_flow(session: AsyncSession, state: str, **values: object) -> None:
    row = (
        await session.exec(select(SsoTicket).where(col(SsoTicket.id) == _ticket_id(state)))
    ).one()
    if "nonce" in values:
        row.data = json.dumps({**json.loads(row.data), "nonce": values.pop("nonce")})
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    await session.commit()


@pytest.mark.usefixtures("sso")
async def test_expired_flow_is_refused(client: httpx.AsyncClient, session: AsyncSession) -> None:
    callback = local(await at_provider(await start(client), subject()))
    state = parse_qs(urlsplit(callback).query)["state"][0]
    await edit_flow(session, state, expires_at=utcnow() - timedelta(seconds=1))
    response = await client.get(callback)
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_EXPIRED}


@pytest.mark.usefixtures("sso")
async def test_id_token_of_another_nonce_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    login = subject()
    callback = local(await at_provider(await start(client), login))
    await edit_flow(session, parse_qs(urlsplit(callback).query)["state"][0], nonce="another")
    response = await client.get(callback)
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_INVALID_ID_TOKEN.format(provider="Test IdP")}
    assert await users.get_user_by_email(session, f"{login}@example.com") is None


async def real_id_token(
    client: httpx.AsyncClient, session: AsyncSession, sso: LocalProvider
) -> tuple[str, str]:
    """An ID token the provider issued for a flow of ours, traded by hand; and its nonce."""
    callback = local(await at_provider(await start(client), subject()))
    query = parse_qs(urlsplit(callback).query)
    row = (
        await session.exec(
            select(SsoTicket).where(col(SsoTicket.id) == _ticket_id(query["state"][0]))
        )
    ).one()
    flow = json.loads(row.data)
    async with httpx.AsyncClient() as raw:
        tokens = await raw.post(
            f"{sso.issuer}/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": f"{CALLBACK_ORIGIN}{START}/callback",
                "code_verifier": flow["verifier"],
            },
        )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()["id_token"], flow["nonce"]


async def test_id_token_checks(
    client: httpx.AsyncClient, session: AsyncSession, sso: LocalProvider
) -> None:
    id_token, nonce = await real_id_token(client, session, sso)
    provider = settings.OIDC_PROVIDERS[0]
    metadata = await oidc._discover(provider)
    keys = await oidc._read_keys(provider, metadata)
    expected = {
        "issuer": sso.issuer,
        "client_id": CLIENT_ID,
        "nonce": nonce,
        "algorithms": metadata.algorithms,
    }
    claims = oidc.validate_id_token(id_token, keys, **expected)  # type: ignore[arg-type]
    assert claims["iss"] == sso.issuer and claims["aud"] == CLIENT_ID
    header, payload, signature = id_token.split(".")
    tampered_signature = (
        f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    )
    # A payload of our own under the provider's signature.
    forged_payload = f"{header}.{payload[:-2]}{'xx' if payload[-2:] != 'xx' else 'yy'}.{signature}"
    unsigned = f"{header}.{payload}."
    for bad in (tampered_signature, forged_payload, unsigned, "not.a.token"):
        with pytest.raises(ValueError):
            oidc.validate_id_token(bad, keys, **expected)  # type: ignore[arg-type]
    wrong = {
        "issuer": {**expected, "issuer": "http://127.0.0.1:1"},
        "audience": {**expected, "client_id": "someone-else"},
        "nonce": {**expected, "nonce": "another"},
    }
    for arguments in wrong.values():
        with pytest.raises(ValueError):
            oidc.validate_id_token(id_token, keys, **arguments)  # type: ignore[arg-type]
    expired_at = int(claims["exp"]) + oidc.LEEWAY_SECONDS + 1
    with pytest.raises(ValueError, match="claims"):
        oidc.validate_id_token(id_token, keys, now=expired_at, **expected)  # type: ignore[arg-type]


async def test_unreachable_provider_answers_502(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bound but never listening: every connection is refused.
    with reserved_port() as port:
        issuer = f"http://127.0.0.1:{port}"
        monkeypatch.setattr(settings, "OIDC_PROVIDERS", [provider_settings(issuer)])
        response = await client.get(START)
    assert response.status_code == 502
    assert response.json() == {"detail": messages.SSO_UNAVAILABLE.format(provider="Test IdP")}


@pytest.mark.usefixtures("sso")
async def test_ui_flow_hands_a_single_use_code_to_the_ui(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    login = subject()
    code = await ui_code(client, login)
    result = await redeem(session, code)
    assert isinstance(result, Login)
    assert (await me(client, result.tokens.access_token))["email"] == f"{login}@example.com"
    with pytest.raises(BadRequest, match="Invalid or expired sign-on code"):
        await redeem(session, code)


@pytest.mark.usefixtures("sso")
async def test_ui_flow_errors_reach_the_ui(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    code = await ui_code(client, subject(), consent=False)
    with pytest.raises(BadRequest, match="Test IdP did not complete the sign-on"):
        await redeem(session, code)


@pytest.mark.usefixtures("sso")
async def test_unlink_never_removes_the_last_way_to_log_in(client: httpx.AsyncClient) -> None:
    login = subject()
    tokens = (await sign_on(client, login)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    last = await client.delete(f"{API}/users/me/identities/test", headers=headers)
    assert last.status_code == 400
    assert last.json() == {"detail": messages.SSO_LAST_LOGIN}
    unknown = await client.delete(f"{API}/users/me/identities/other", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": messages.SSO_IDENTITY_NOT_FOUND}
    # A password set through recovery makes the provider login optional.
    user_id = (await me(client, tokens["access_token"]))["id"]
    assert isinstance(user_id, int)
    reset = await client.post(
        f"{API}/reset-password/",
        json={"token": create_reset_token(user_id), "new_password": "a-new-password"},
    )
    assert reset.status_code == 200, reset.text
    headers = await login_headers(client, f"{login}@example.com", "a-new-password")
    unlinked = await client.delete(f"{API}/users/me/identities/test", headers=headers)
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json() == {"message": messages.IDENTITY_UNLINKED}
    listed = (await client.get(f"{API}/users/me/identities", headers=headers)).json()
    assert listed == {"data": [], "count": 0, "has_password": True}


@pytest.mark.usefixtures("sso")
async def test_inactive_account_is_not_signed_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    login = subject()
    assert (await sign_on(client, login)).status_code == 200
    user = await users.get_user_by_email(session, f"{login}@example.com")
    assert user is not None
    user.is_active = False
    session.add(user)
    await session.commit()
    response = await sign_on(client, login)
    assert response.status_code == 400
    assert response.json() == {"detail": messages.INACTIVE_USER}


@pytest.mark.usefixtures("sso")
async def test_expired_ui_code_is_refused(client: httpx.AsyncClient, session: AsyncSession) -> None:
    code = await ui_code(client, subject())
    await edit_flow(session, code, expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(BadRequest, match="Invalid or expired sign-on code"):
        await redeem(session, code)


@pytest.mark.usefixtures("sso")
async def test_without_a_password_one_linked_login_stays(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tokens = (await sign_on(client, subject())).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    user_id = (await me(client, tokens["access_token"]))["id"]
    assert isinstance(user_id, int)
    # A second provider's login, as one left by a provider since removed from the settings.
    session.add(UserIdentity(user_id=user_id, provider="retired", subject="x", email=""))
    await session.commit()
    listed = (await client.get(f"{API}/users/me/identities", headers=headers)).json()
    assert [i["display_name"] for i in listed["data"]] == ["Test IdP", "retired"]
    assert (
        await client.delete(f"{API}/users/me/identities/test", headers=headers)
    ).status_code == 200
    last = await client.delete(f"{API}/users/me/identities/retired", headers=headers)
    assert last.status_code == 400
    assert last.json() == {"detail": messages.SSO_LAST_LOGIN}


@pytest.mark.usefixtures("sso")
async def test_an_invalid_address_is_refused(client: httpx.AsyncClient) -> None:
    # The provider says its address is "two words@example.com".
    response = await sign_on(client, "two words")
    assert response.status_code == 400
    assert response.json() == {"detail": messages.SSO_NO_EMAIL.format(provider="Test IdP")}


@pytest.mark.usefixtures("sso")
async def test_odd_requests_get_their_documented_answers(client: httpx.AsyncClient) -> None:
    # A state beyond ASCII is just another wrong state.
    client.cookies.set("oidc_state", "abc", path=f"{API}/login/oidc")
    odd = await client.get(f"{START}/callback", params={"state": "é", "code": "x"})
    assert odd.status_code == 400
    assert odd.json() == {"detail": messages.SSO_INVALID_STATE}
    # No provider can have this name.
    assert (await client.get(f"{API}/login/oidc/Not%20a%20name")).status_code == 422
    # /link takes POST only, whatever the start route's {provider} would match.
    options = await client.options(f"{API}/login/oidc/link")
    assert options.status_code == 405
    assert options.headers["allow"] == "POST"


@pytest.mark.usefixtures("sso")
async def test_starts_are_limited_per_address(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = {**DEFAULT_RATES, Limit.SSO_STARTS_PER_ADDRESS: "2/minute"}
    limiter = rate_limits.RateLimiter(rates, redis_url=None, key_prefix="test-sso-starts")
    monkeypatch.setattr(rate_limits, "limiter", limiter)
    for _ in range(2):
        assert (await client.get(START)).status_code == 302
    refused = await client.get(START)
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many sign-ons from this address.")
    assert int(refused.headers["retry-after"]) > 0
    await limiter.close()
