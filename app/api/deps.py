"""Dependencies shared by the routes: sessions, the caller, the superuser guard, the
client's address."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.db import (
    ReadOnlySessionMaker,
    ReplicaSessionMaker,
    SessionMaker,
    engine,
    replica_engine,
)
from app.models import User
from app.services import auth

reusable_oauth2 = OAuth2PasswordBearer(tokenUrl=f"{settings.API_V1_STR}/login/access-token")


async def get_session() -> AsyncIterator[AsyncSession]:
    """A transactional session on the primary, for routes that write."""
    async with SessionMaker() as session:
        yield session


async def get_read_only_session() -> AsyncIterator[AsyncSession]:
    """An autocommit session on the primary: the caller and single-row reads."""
    async with ReadOnlySessionMaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadOnlySessionDep = Annotated[AsyncSession, Depends(get_read_only_session)]


async def get_list_session(primary: ReadOnlySessionDep) -> AsyncIterator[AsyncSession]:
    """The read replica when one is configured (lists may lag writes slightly).

    Without a replica the request's read-only session is reused, so a list request
    checks out one connection, not two.
    """
    if replica_engine is engine:
        yield primary
        return
    async with ReplicaSessionMaker() as session:
        yield session


ListSessionDep = Annotated[AsyncSession, Depends(get_list_session)]
TokenDep = Annotated[str, Depends(reusable_oauth2)]


async def get_current_user(token: TokenDep) -> User:
    # Detached, so a route's write session can take it over (session.add) to update it.
    return await auth.user_from_access_token(token)


CurrentUser = Annotated[User, Depends(get_current_user)]


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
