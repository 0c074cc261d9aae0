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

reusable_oauth2 = OAuth2PasswordBearer(tokenUrl=f"{settings.API_V1_STR}/login/access-token")


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
TokenDep = Annotated[str, Depends(reusable_oauth2)]


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


async def get_unverified_caller(token: TokenDep) -> Caller:
    """The caller, whether or not their address is verified: only the routes an
    unverified account may use under REQUIRE_EMAIL_VERIFICATION take this one."""
    return await auth.caller_from_access_token(token)


UnverifiedCallerDep = Annotated[Caller, Depends(get_unverified_caller)]


async def get_caller(caller: UnverifiedCallerDep) -> Caller:
    """The caller of every other route: 403 for an unverified address when verification
    is required."""
    verification.require_verified(caller.user)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_unverified_user(caller: UnverifiedCallerDep) -> User:
    return caller.user


UnverifiedUser = Annotated[User, Depends(get_unverified_user)]


async def get_current_user(caller: CallerDep) -> User:
    # Detached, so a route's write session can take it over (session.add) to update it.
    return caller.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_replica_reads(primary: ReadOnlySessionDep, current_user: CurrentUser) -> ReplicaReads:
    """The caller's reads that the replica may serve (app.db.ReplicaReads), falling
    back on the request's read session."""
    return ReplicaReads(current_user.id, primary)


ReplicaReadsDep = Annotated[ReplicaReads, Depends(get_replica_reads)]


def get_current_active_superuser(current_user: CurrentUser) -> User:
    return auth.require_superuser(current_user)


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
