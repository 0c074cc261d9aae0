"""A user's sessions (tag `users`): listed, and ended one by one or all at once.

`/users/me/sessions` comes before `/users/{user_id}/sessions`, which would take "me"
for an id.
"""

from fastapi import APIRouter, Depends

from app.api.deps import CallerDep, ReadOnlySessionDep, SessionDep, get_current_active_superuser
from app.api.errors import AUTHENTICATED, USES_DATABASE, responses
from app.models import Message, SessionsPublic
from app.services import messages, sessions, users
from app.services.errors import NotFound

router = APIRouter(
    prefix="/users", tags=["users"], responses={**responses(*AUTHENTICATED, *USES_DATABASE)}
)
SUPERUSER = [Depends(get_current_active_superuser)]


def ended(count: int) -> Message:
    return Message(message=messages.SESSIONS_ENDED.format(count=count))


@router.get("/me/sessions")
async def read_sessions_me(session: ReadOnlySessionDep, caller: CallerDep) -> SessionsPublic:
    """The caller's live sessions, the one used last first; `current` marks the caller's."""
    assert caller.user.id is not None
    return await sessions.list_sessions(session, caller.user.id, caller.session_id)


@router.delete("/me/sessions/{session_id}")
async def delete_session_me(session: SessionDep, caller: CallerDep, session_id: int) -> Message:
    """End one of the caller's sessions (their own current one too: a logout)."""
    assert caller.user.id is not None
    await sessions.end(session, caller.user.id, session_id)
    return Message(message=messages.SESSION_ENDED)


@router.delete("/me/sessions")
async def delete_sessions_me(session: SessionDep, caller: CallerDep) -> Message:
    """End every session of the caller but the current one."""
    assert caller.user.id is not None
    return ended(await sessions.end_others(session, caller.user.id, caller.session_id))


@router.get("/{user_id}/sessions", dependencies=SUPERUSER)
async def read_user_sessions(
    session: ReadOnlySessionDep, caller: CallerDep, user_id: int
) -> SessionsPublic:
    """A user's live sessions (superusers)."""
    if await users.get_user(session, user_id) is None:
        raise NotFound(messages.USER_NOT_FOUND)
    return await sessions.list_sessions(session, user_id, caller.session_id)


@router.delete("/{user_id}/sessions", dependencies=SUPERUSER)
async def delete_user_sessions(session: SessionDep, user_id: int) -> Message:
    """End every session of a user (superusers); ending their own includes the current."""
    if await users.get_user(session, user_id) is None:
        raise NotFound(messages.USER_NOT_FOUND)
    return ended(await sessions.end_all(session, user_id))
