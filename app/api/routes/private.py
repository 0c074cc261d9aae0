"""Development-only seeding (tag `private`); mounted only when ENVIRONMENT=local."""

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.models import PrivateUserCreate, UserPublic
from app.services import users

router = APIRouter(prefix="/private", tags=["private"])


@router.post("/users/", response_model=UserPublic)
async def create_user(user_in: PrivateUserCreate, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(await users.create_private_user(session, user_in))
