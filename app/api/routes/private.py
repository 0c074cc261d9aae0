"""Development-only seeding (tag `private`); mounted only when ENVIRONMENT=local."""

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.api.errors import USES_DATABASE, WITH_BODY, responses
from app.models import PrivateUserCreate, UserPublic
from app.services import users

router = APIRouter(prefix="/private", tags=["private"])


@router.post("/users/", response_model=UserPublic, responses=responses(*WITH_BODY, *USES_DATABASE))
async def create_user(user_in: PrivateUserCreate, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(await users.create_private_user(session, user_in))
