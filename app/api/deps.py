"""Dependencies shared by the routes: sessions, the caller, the superuser guard."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.db import ReadSessionMaker, SessionMaker, engine, replica_engine
from app.models import User
from app.services import auth

reusable_oauth2 = OAuth2PasswordBearer(tokenUrl=f"{settings.API_V1_STR}/login/access-token")


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionMaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_read_session(primary: SessionDep) -> AsyncIterator[AsyncSession]:
    """The read replica when one is configured (lists may lag writes slightly).

    Without a replica the request's primary session is reused, so a request holds
    one pooled connection, not two.
    """
    if replica_engine is engine:
        yield primary
        return
    async with ReadSessionMaker() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
TokenDep = Annotated[str, Depends(reusable_oauth2)]


async def get_current_user(session: SessionDep, token: TokenDep) -> User:
    return await auth.user_from_access_token(session, token)


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_current_active_superuser(current_user: CurrentUser) -> User:
    return auth.require_superuser(current_user)


SuperUser = Annotated[User, Depends(get_current_active_superuser)]
