"""Dependencies shared by the routes: sessions, the caller, the superuser guard, the
client's address."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Form, Header, Query, Request
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.db import ReplicaReads, read_session, session_scope
from app.db.paging import MAX_SKIP
from app.models import Text, User
from app.services import auth, verification
from app.services.sessions import Caller


async def get_session() -> AsyncIterator[AsyncSession]:
    """A transactional session on the primary, for routes that write."""
    async with session_scope() as session:
        yield session


async def get_read_only_session() -> AsyncIterator[AsyncSession]:
    """An autocommit session on the primary: the caller and single-row reads."""
    async with read_session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadOnlySessionDep = Annotated[AsyncSession, Depends(get_read_only_session)]


# Paging of every list route.
Skip = Annotated[int, Query(ge=0, le=MAX_SKIP)]
Limit = Annotated[int, Query(ge=1, le=1000)]
TOKEN_URL = f"{settings.API_V1_STR}/login/access-token"


class PasswordForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form (same fields, same OpenAPI) with the models' text rule."""

    def __init__(
        self,
        *,
        # Not Text: the pattern already admits nothing but "password" (and Text would
        # drop it from the schema).
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        username: Annotated[Text, Form()],
        password: Annotated[Text, Form(json_schema_extra={"format": "password"})],
        scope: Annotated[Text, Form()] = "",
        client_id: Annotated[Text | None, Form()] = None,
        client_secret: Annotated[
            Text | None, Form(json_schema_extra={"format": "password"})
        ] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class BearerCaller(OAuth2PasswordBearer):
    """The caller a request's bearer token speaks for (auth.caller_from_access_token),
    as one dependency: 401 without a token, as OAuth2PasswordBearer answers, and with
    `verified`, 403 for an unverified address when verification is required.

    One class rather than a chain of functions (token, caller, verified caller, user):
    FastAPI solves each level of dependencies anew on every request, and one level
    costs about 4 % of `GET /users/me` (docs/performance.md). Every instance names the
    same OpenAPI security scheme, so the schema is the one a single bearer would give.
    """

    def __init__(self, *, verified: bool) -> None:
        super().__init__(tokenUrl=TOKEN_URL, scheme_name="OAuth2PasswordBearer")
        self.verified = verified

    async def caller(self, request: Request) -> Caller:
        token = await super().__call__(request)
        # auto_error: no token has already answered 401.
        assert token is not None
        caller = await auth.caller_from_access_token(token)
        if self.verified:
            verification.require_verified(caller.user)
        return caller

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        return await self.caller(request)


class BearerUser(BearerCaller):
    """BearerCaller's user alone (detached, so a route's write session can take it over
    to update it), for routes that need nothing else of the caller."""

    async def __call__(self, request: Request) -> User:  # type: ignore[override]
        return (await self.caller(request)).user


# The routes an unverified account may use under REQUIRE_EMAIL_VERIFICATION take these.
# No route takes both, so the user is one dependency of its own (GET /users/me's).
get_unverified_caller = BearerCaller(verified=False)
UnverifiedCallerDep = Annotated[Caller, Depends(get_unverified_caller)]
get_unverified_user = BearerUser(verified=False)
UnverifiedUser = Annotated[User, Depends(get_unverified_user)]

# Every other route's. The user, the replica's reads and the superuser guard all come
# from CallerDep, which FastAPI solves once per request, however many of them a route
# takes: one lookup.
get_caller = BearerCaller(verified=True)
CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_current_user(caller: CallerDep) -> User:
    return caller.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_replica_reads(primary: ReadOnlySessionDep, caller: CallerDep) -> ReplicaReads:
    """The caller's reads that the replica may serve (app.db.ReplicaReads), falling
    back on the request's read session."""
    return ReplicaReads(caller.user.id, primary)


ReplicaReadsDep = Annotated[ReplicaReads, Depends(get_replica_reads)]


def get_current_active_superuser(caller: CallerDep) -> User:
    # From CallerDep, which a route may take too: one lookup between them.
    return auth.require_superuser(caller.user)


SuperUser = Annotated[User, Depends(get_current_active_superuser)]


def client_address(peer: str, forwarded_for: list[str], trusted_hops: int) -> str:
    """The client behind `trusted_hops` proxies, by the rule Reflex applies to the websocket.

    Each trusted proxy appends the address it was reached from to X-Forwarded-For, so
    the entry `trusted_hops` from the end is the last one no client could forge; with
    no trusted proxy, or a shorter header, it is the connection's own peer.
    """
    if trusted_hops:
        hops = [ip.strip() for header in forwarded_for for ip in header.split(",") if ip.strip()]
        if len(hops) >= trusted_hops:
            return hops[-trusted_hops]
    return peer


def get_client_address(request: Request) -> str:
    return client_address(
        request.client.host if request.client else "",
        request.headers.getlist("x-forwarded-for"),
        settings.REFLEX_TRUSTED_PROXY_HOPS,
    )


ClientAddress = Annotated[str, Depends(get_client_address)]


def get_user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


UserAgent = Annotated[str, Depends(get_user_agent)]
# OWASP's device cookie, as a header: a login from a device the account used before.
DeviceToken = Annotated[
    Text | None,
    Header(
        alias="X-Device-Token",
        max_length=4096,
        description="The `device_token` of an earlier login to this account: this "
        "login is then counted against the device's failure limit, not the account's.",
    ),
]
