"""Single sign-on with OpenID Connect: the authorization code flow with PKCE, `state`
and `nonce`, the ID token checked against the provider's published keys, and the
accounts a provider login signs in, creates or links (docs/authentication.md).

Every step a browser carries from one request to the next is a single-use ticket in
the database (SsoTicket), found by the hash of a random secret: the flow sent to the
provider (its secret is the `state`, also kept in a cookie of the browser that
started it), the UI's one-time login code, and an account waiting for its password
to link a provider. The database, not a process, holds them, so any replica can take
the provider's answer.
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import CursorResult, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import OidcProvider, settings
from app.core.security import has_usable_password
from app.models import (
    SUBJECT_MAX_LENGTH,
    TICKET_MAX_LENGTH,
    Email,
    IdentitiesPublic,
    IdentityPublic,
    OidcProviderPublic,
    OidcProvidersPublic,
    SsoTicket,
    User,
    UserIdentity,
    utcnow,
)
from app.services import auth, messages, rate_limits, users
from app.services.errors import (
    BadRequest,
    Conflict,
    DomainError,
    LinkRequired,
    NotFound,
    ProviderUnavailable,
)
from app.services.rate_limits import Limit

logger = logging.getLogger(__name__)

ReturnTo = Literal["api", "ui"]
FLOW, LOGIN_CODE, LINK = "flow", "login", "link"
# The UI page that redeems the login code (app/ui/pages/sso.py).
UI_LANDING_PATH = "/login/oidc"
# The UI's login code goes from the callback's redirect to the page that redeems it
# at once: a minute is plenty.
LOGIN_CODE_SECONDS = 60
# Tickets expired longer ago than this are deleted on the way (younger ones are kept,
# so a late callback is told it took too long, not that it is forged).
TICKET_RETENTION = timedelta(hours=1)
# Asymmetric signatures only: "none" proves nothing, and HS256 would take the client
# secret for a key.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                       "ES512", "EdDSA"]  # fmt: skip
# Clock difference tolerated between us and the provider.
LEEWAY_SECONDS = 60
_EMAIL = TypeAdapter(Email)


def _provider(name: str) -> OidcProvider:
    provider = settings.oidc_provider(name)
    if provider is None:
        raise NotFound(messages.SSO_UNKNOWN_PROVIDER)
    return provider


def display_name(name: str) -> str:
    """A provider's display name, or its stored name once it is no longer configured."""
    provider = settings.oidc_provider(name)
    return provider.display_name if provider else name


def callback_url(name: str) -> str:
    return f"{settings.oidc_callback_origin}{settings.API_V1_STR}/login/oidc/{name}/callback"


def login_url(name: str) -> str:
    """Where a browser starts a login with the provider (relative to the API's origin)."""
    return f"{settings.API_V1_STR}/login/oidc/{name}"


def ui_login_url(name: str) -> str:
    """The absolute URL the UI's "Continue with ..." button opens: on the callback's
    origin, so the flow's cookie is there when the provider sends the browser back."""
    return f"{settings.oidc_callback_origin}{login_url(name)}?return_to=ui"


def list_providers() -> OidcProvidersPublic:
    data = [
        OidcProviderPublic(name=p.name, display_name=p.display_name, login_url=login_url(p.name))
        for p in settings.OIDC_PROVIDERS
    ]
    return OidcProvidersPublic(data=data, count=len(data))


# Provider metadata ------------------------------------------------------------------


@dataclass
class ProviderMetadata:
    """What the discovery document says, and the signing keys last read."""

    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str
    algorithms: list[str]
    basic_auth: bool
    keys: KeySet | None = None


# Per process, per issuer: a provider's endpoints do not move; its keys are read again
# when a token names one we do not have (a key rotation).
_metadata: dict[str, ProviderMetadata] = {}


async def _get_json(provider: OidcProvider, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=settings.OIDC_HTTP_TIMEOUT_SECONDS) as client:
            response = await client.request(method, url, **kwargs)
        if response.status_code >= 500:
            raise ProviderUnavailable(
                messages.SSO_UNAVAILABLE.format(provider=provider.display_name)
            )
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        logger.warning("Sign-on provider %s: %s %s failed: %s", provider.name, method, url, error)
        raise ProviderUnavailable(
            messages.SSO_UNAVAILABLE.format(provider=provider.display_name)
        ) from None
    if not isinstance(body, dict):
        raise ProviderUnavailable(messages.SSO_UNAVAILABLE.format(provider=provider.display_name))
    if response.status_code >= 400:
        # The provider refused (a used, expired or foreign code): the login starts over.
        logger.info("Sign-on provider %s refused %s: %s", provider.name, url, body.get("error"))
        raise BadRequest(messages.SSO_TOKEN_REFUSED.format(provider=provider.display_name))
    return body


async def _discover(provider: OidcProvider) -> ProviderMetadata:
    known = _metadata.get(provider.issuer)
    if known is not None:
        return known
    url = f"{provider.issuer.rstrip('/')}/.well-known/openid-configuration"
    document = await _get_json(provider, "GET", url)
    try:
        # OpenID Connect Discovery 4.3: the document must name the issuer we asked.
        if document["issuer"] != provider.issuer:
            raise ValueError(f"its issuer is {document['issuer']!r}")
        supported = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        auth_methods = document.get("token_endpoint_auth_methods_supported") or [
            "client_secret_basic"
        ]
        metadata = ProviderMetadata(
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            userinfo_endpoint=document.get("userinfo_endpoint"),
            jwks_uri=str(document["jwks_uri"]),
            algorithms=[alg for alg in supported if alg in ID_TOKEN_ALGORITHMS],
            basic_auth="client_secret_basic" in auth_methods,
        )
    except (KeyError, TypeError, ValueError) as error:
        logger.error("Sign-on provider %s: unusable discovery document: %s", provider.name, error)
        raise ProviderUnavailable(
            messages.SSO_UNAVAILABLE.format(provider=provider.display_name)
        ) from None
    _metadata[provider.issuer] = metadata
    return metadata


async def _read_keys(provider: OidcProvider, metadata: ProviderMetadata) -> KeySet:
    document = await _get_json(provider, "GET", metadata.jwks_uri)
    try:
        metadata.keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, KeyError, TypeError, ValueError) as error:
        logger.error("Sign-on provider %s: unusable keys: %s", provider.name, error)
        raise ProviderUnavailable(
            messages.SSO_UNAVAILABLE.format(provider=provider.display_name)
        ) from None
    return metadata.keys


# Tickets ----------------------------------------------------------------------------


def _ticket_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _put_ticket(
    session: AsyncSession, purpose: str, data: dict[str, Any], lifetime: timedelta
) -> str:
    """A new ticket and its secret; long-expired ones are deleted on the way. Commits."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    await session.exec(delete(SsoTicket).where(col(SsoTicket.expires_at) < now - TICKET_RETENTION))
    session.add(
        SsoTicket(
            id=_ticket_id(secret), purpose=purpose, data=json.dumps(data), expires_at=now + lifetime
        )
    )
    await session.commit()
    return secret


async def _read_ticket(
    session: AsyncSession, secret: str, purpose: str
) -> tuple[dict[str, Any], datetime] | None:
    if not secret or len(secret) > TICKET_MAX_LENGTH:
        return None
    row = (
        await session.exec(
            select(SsoTicket).where(
                col(SsoTicket.id) == _ticket_id(secret), col(SsoTicket.purpose) == purpose
            )
        )
    ).first()
    if row is None:
        return None
    data = json.loads(row.data)
    assert isinstance(data, dict)
    return data, row.expires_at


async def _take_ticket(
    session: AsyncSession, secret: str, purpose: str
) -> tuple[dict[str, Any], bool] | None:
    """A ticket's data, and whether it expired; None if there is none (never was, or
    already taken). Deleted and committed: of two takers, one gets it."""
    found = await _read_ticket(session, secret, purpose)
    if found is None:
        return None
    data, expires_at = found
    result = await session.exec(delete(SsoTicket).where(col(SsoTicket.id) == _ticket_id(secret)))
    await session.commit()
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return None
    return data, expires_at <= utcnow()


# The flow ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowStart:
    """Where to send the browser, and the `state` to keep in its cookie."""

    authorization_url: str
    state: str


async def start_login(
    session: AsyncSession, name: str, *, return_to: ReturnTo, client: str
) -> FlowStart:
    """Begin a login with provider `name`: its authorization URL with a fresh `state`,
    `nonce` and PKCE challenge (S256); `return_to` says who gets the result, the API
    client (JSON) or the UI (a redirect to its /login/oidc page). Counted against the
    `client` address's limit of sign-ons started."""
    provider = _provider(name)
    await rate_limits.limiter.charge((Limit.SSO_STARTS_PER_ADDRESS, client))
    metadata = await _discover(provider)
    nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    flow = {"provider": name, "nonce": nonce, "verifier": verifier, "return_to": return_to}
    state = await _put_ticket(
        session, FLOW, flow, timedelta(minutes=settings.OIDC_FLOW_EXPIRE_MINUTES)
    )
    url = prepare_grant_uri(
        metadata.authorization_endpoint,
        provider.client_id,
        "code",
        redirect_uri=callback_url(name),
        scope=provider.scopes,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return FlowStart(url, state)


def validate_id_token(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: list[str],
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of an ID token (OpenID Connect Core 3.1.3.7): signed by one of the
    provider's keys with an asymmetric algorithm, from `issuer`, for `client_id`, with
    our `nonce`, not expired. ValueError saying what is wrong otherwise."""
    try:
        token = jwt.decode(id_token, keys, algorithms=algorithms or ["RS256"])
    except (JoseError, ValueError) as error:
        raise ValueError(f"bad token or signature: {error}") from None
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as error:
        raise ValueError(f"claims: {error}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise ValueError("several audiences and another authorized party")
    # Compared in constant time: the nonce ties the token to the browser's flow.
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
        claims["nonce"].encode(), nonce.encode()
    ):
        raise ValueError("nonce does not match the flow's")
    if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= SUBJECT_MAX_LENGTH:
        raise ValueError("no subject, or a longer one than Core 1.0 allows")
    return dict(claims)


async def _identify(provider: OidcProvider, code: str, flow: dict[str, Any]) -> dict[str, Any]:
    """Trade the code (with the PKCE verifier) for tokens; the ID token's claims,
    completed from the userinfo endpoint when they leave out the address."""
    metadata = await _discover(provider)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": callback_url(provider.name),
        "code_verifier": flow["verifier"],
    }
    auth: httpx.BasicAuth | None = None
    if metadata.basic_auth:
        # RFC 6749 2.3.1: the id and secret are form-encoded before Basic encoding.
        auth = httpx.BasicAuth(
            quote(provider.client_id, safe=""), quote(provider.client_secret, safe="")
        )
    else:
        form |= {"client_id": provider.client_id, "client_secret": provider.client_secret}
    tokens = await _get_json(provider, "POST", metadata.token_endpoint, data=form, auth=auth)
    id_token = tokens.get("id_token")
    invalid = BadRequest(messages.SSO_INVALID_ID_TOKEN.format(provider=provider.display_name))
    if not isinstance(id_token, str):
        raise invalid
    expected = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "nonce": flow["nonce"],
        "algorithms": metadata.algorithms,
    }
    keys = metadata.keys or await _read_keys(provider, metadata)
    try:
        claims = validate_id_token(id_token, keys, **expected)
    except ValueError:
        # Perhaps signed with a key published since we read them: read them once more.
        try:
            claims = validate_id_token(id_token, await _read_keys(provider, metadata), **expected)
        except ValueError as error:
            logger.warning("Sign-on provider %s: ID token refused: %s", provider.name, error)
            raise invalid from None
    access_token = tokens.get("access_token")
    if "email" not in claims and metadata.userinfo_endpoint and isinstance(access_token, str):
        info = await _get_json(
            provider,
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        # Core 5.3.2: userinfo of another subject must not be used.
        if info.get("sub") != claims["sub"]:
            raise invalid
        claims |= {key: info[key] for key in ("email", "email_verified", "name") if key in info}
    return claims


async def _resolve(
    session: AsyncSession, provider: OidcProvider, claims: dict[str, Any], client: str
) -> dict[str, Any]:
    """Who the provider's login is: {"user_id"} of the linked account (linked now if it
    signs up), or {"link_token", "email", "provider"} when an account has the address."""
    subject = str(claims["sub"])
    linked = (
        await session.exec(
            select(UserIdentity).where(
                col(UserIdentity.provider) == provider.name, col(UserIdentity.subject) == subject
            )
        )
    ).first()
    if linked is not None:
        return {"user_id": linked.user_id}
    try:
        email = str(_EMAIL.validate_python(claims.get("email")))
    except ValidationError:
        raise BadRequest(messages.SSO_NO_EMAIL.format(provider=provider.display_name)) from None
    # Some providers send the flag as a string.
    verified = claims.get("email_verified") in (True, "true")
    owner = await users.get_user_by_email(session, email)
    if owner is not None:
        if not verified:
            raise BadRequest(messages.SSO_UNVERIFIED_EMAIL.format(provider=provider.display_name))
        link = {"provider": provider.name, "subject": subject, "email": email, "user_id": owner.id}
        token = await _put_ticket(
            session, LINK, link, timedelta(minutes=settings.OIDC_FLOW_EXPIRE_MINUTES)
        )
        return {"link_token": token, "email": email, "provider": provider.display_name}
    if not provider.allow_signup:
        raise BadRequest(messages.SSO_SIGNUP_CLOSED.format(provider=provider.display_name))
    name = claims.get("name")
    user = await users.register_sso_user(
        session,
        UserIdentity(user_id=0, provider=provider.name, subject=subject, email=email),
        name[:255] if isinstance(name, str) and name else None,
        email_verified=verified,
        client=client,
    )
    assert user.id is not None
    return {"user_id": user.id}


@dataclass(frozen=True)
class Callback:
    """The end of a flow: for the API, the login; for the UI, the one-time code its
    /login/oidc page redeems (for a login, a link to confirm, or an error to show)."""

    return_to: ReturnTo
    login: auth.Login | None = None
    ui_code: str | None = None


async def finish_login(
    session: AsyncSession,
    name: str,
    *,
    state: str,
    cookie_state: str,
    code: str,
    error: str,
    client: str,
    user_agent: str,
    device_token: str | None = None,
) -> Callback:
    """The provider's answer at the callback: the flow of `state` (which must be the
    one this browser started: its cookie) is taken, the code traded and the ID token
    checked, and the login it proves signed in, signed up or offered a link.

    The API's errors are raised (a forged or reused state always is: it names no flow
    to return to); the UI's are handed to its page through the login code.
    """
    # Compared as bytes: compare_digest refuses str with characters beyond ASCII.
    if not (state and secrets.compare_digest(state.encode(), cookie_state.encode())):
        raise BadRequest(messages.SSO_INVALID_STATE)
    taken = await _take_ticket(session, state, FLOW)
    if taken is None or taken[0].get("provider") != name:
        raise BadRequest(messages.SSO_INVALID_STATE)
    flow, expired = taken
    provider = _provider(name)
    try:
        if expired:
            raise BadRequest(messages.SSO_EXPIRED)
        if error or not code:
            raise BadRequest(messages.SSO_REFUSED.format(provider=provider.display_name))
        claims = await _identify(provider, code, flow)
        outcome = await _resolve(session, provider, claims, client)
    except DomainError as failure:
        if flow["return_to"] != "ui":
            raise
        return Callback("ui", ui_code=await _login_code(session, {"error": failure.detail}))
    if flow["return_to"] == "ui":
        return Callback("ui", ui_code=await _login_code(session, outcome))
    if "link_token" in outcome:
        raise LinkRequired(
            messages.SSO_LINK_REQUIRED.format(provider=outcome["provider"]),
            outcome["link_token"],
            outcome["email"],
            outcome["provider"],
        )
    user = await _user(session, outcome["user_id"], messages.SSO_INVALID_STATE)
    login = await auth.sign_in(
        session, user, client=client, user_agent=user_agent, device_token=device_token
    )
    return Callback("api", login=login)


async def _login_code(session: AsyncSession, outcome: dict[str, Any]) -> str:
    return await _put_ticket(session, LOGIN_CODE, outcome, timedelta(seconds=LOGIN_CODE_SECONDS))


async def _user(session: AsyncSession, user_id: Any, missing: str) -> User:
    user = await users.get_user(session, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise BadRequest(missing)
    return user


@dataclass(frozen=True)
class LinkPending:
    """An account has the provider's address: its password links them (link_with_password)."""

    link_token: str
    email: str
    provider: str


async def redeem_login_code(
    session: AsyncSession,
    code: str,
    *,
    client: str,
    user_agent: str,
    device_token: str | None = None,
) -> auth.Login | LinkPending:
    """The UI's one-time code from the callback: the session it signs in (or
    TwoFactorRequired), the link it offers, or the error it carries. Once only."""
    taken = await _take_ticket(session, code, LOGIN_CODE)
    if taken is None or taken[1]:
        raise BadRequest(messages.SSO_INVALID_LOGIN_CODE)
    outcome = taken[0]
    if "error" in outcome:
        raise BadRequest(str(outcome["error"]))
    if "link_token" in outcome:
        return LinkPending(outcome["link_token"], outcome["email"], outcome["provider"])
    user = await _user(session, outcome.get("user_id"), messages.SSO_INVALID_LOGIN_CODE)
    return await auth.sign_in(
        session, user, client=client, user_agent=user_agent, device_token=device_token
    )


async def link_with_password(
    session: AsyncSession,
    link_token: str,
    password: str,
    *,
    client: str,
    user_agent: str,
    device_token: str | None = None,
) -> auth.Login:
    """Link the provider login a LinkRequired offered to the account, once its
    password is confirmed (wrong ones count against the login limits, and leave the
    offer open until it expires); then sign in as a login would (two-factor too)."""
    found = await _read_ticket(session, link_token, LINK)
    if found is None or found[1] <= utcnow():
        raise BadRequest(messages.SSO_INVALID_LINK)
    link = found[0]
    owner = await _user(session, link.get("user_id"), messages.SSO_INVALID_LINK)
    assert owner.id is not None
    user = await auth.authenticate(
        session,
        owner.email,
        password,
        client=client,
        device=auth.known_device(device_token, owner.email),
    )
    if user.id != owner.id:
        raise BadRequest(messages.SSO_INVALID_LINK)
    if await _take_ticket(session, link_token, LINK) is None:
        raise BadRequest(messages.SSO_INVALID_LINK)
    session.add(
        UserIdentity(
            user_id=owner.id,
            provider=link["provider"],
            subject=link["subject"],
            email=link["email"],
        )
    )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            messages.SSO_ALREADY_LINKED.format(provider=display_name(link["provider"]))
        ) from None
    return await auth.sign_in(
        session, user, client=client, user_agent=user_agent, device_token=device_token
    )


# Settings: linked logins ------------------------------------------------------------


async def _identities(session: AsyncSession, user_id: int) -> list[UserIdentity]:
    return list(
        (
            await session.exec(
                select(UserIdentity)
                .where(col(UserIdentity.user_id) == user_id)
                .order_by(col(UserIdentity.created_at), col(UserIdentity.id))
            )
        ).all()
    )


async def list_identities(session: AsyncSession, user: User) -> IdentitiesPublic:
    """The provider logins linked to the user (one per provider at most in practice,
    bounded by the providers configured and the links made)."""
    assert user.id is not None
    rows = await _identities(session, user.id)
    data = [
        IdentityPublic(
            provider=row.provider,
            display_name=display_name(row.provider),
            email=row.email,
            created_at=row.created_at,
        )
        for row in rows
    ]
    return IdentitiesPublic(
        data=data, count=len(data), has_password=has_usable_password(user.hashed_password)
    )


async def unlink(session: AsyncSession, user: User, provider: str) -> None:
    """Unlink the user's logins with `provider`; never the last way to log in (no
    password and no other provider login)."""
    assert user.id is not None
    # Two unlinks at once must not both count the other's login as left: the user's row
    # is locked (PostgreSQL), and the delete comes before the count (SQLite's write lock).
    await session.exec(select(col(User.id)).where(col(User.id) == user.id).with_for_update())
    deleted = await session.exec(
        delete(UserIdentity).where(
            col(UserIdentity.user_id) == user.id, col(UserIdentity.provider) == provider
        )
    )
    assert isinstance(deleted, CursorResult)
    if not deleted.rowcount:
        await session.rollback()
        raise NotFound(messages.SSO_IDENTITY_NOT_FOUND)
    if not has_usable_password(user.hashed_password) and not await _identities(session, user.id):
        await session.rollback()
        raise BadRequest(messages.SSO_LAST_LOGIN)
    await session.commit()
