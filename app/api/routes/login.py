"""Tokens and password recovery (tag `login`)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from app.api.deps import (
    ClientAddress,
    CurrentUser,
    PasswordForm,
    ReadOnlySessionDep,
    SessionDep,
    get_current_active_superuser,
)
from app.api.errors import (
    AUTHENTICATED,
    RATE_LIMITED,
    USES_DATABASE,
    WITH_BODY,
    html_route_responses,
    responses,
)
from app.core.security import create_reset_token
from app.emails import build_reset_password_email
from app.models import Message, NewPassword, Text, Token, UserPublic
from app.services import auth, messages, users
from app.services.errors import NotFound

router = APIRouter(tags=["login"])


@router.post("/login/access-token", responses=responses(*WITH_BODY, *RATE_LIMITED, *USES_DATABASE))
async def login_access_token(
    session: ReadOnlySessionDep,
    form_data: Annotated[PasswordForm, Depends()],
    client: ClientAddress,
) -> Token:
    """OAuth2 password flow: the email goes in `username`."""
    token = await auth.login(session, form_data.username, form_data.password, client=client)
    return Token(access_token=token)


@router.post(
    "/login/test-token",
    response_model=UserPublic,
    responses=responses(*AUTHENTICATED, *USES_DATABASE),
)
async def test_token(current_user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(current_user)


@router.post("/password-recovery/{email}", responses=responses(*RATE_LIMITED, *USES_DATABASE))
async def recover_password(
    email: Text, session: ReadOnlySessionDep, client: ClientAddress
) -> Message:
    """Mail a reset link; the reply is the same whether or not the email is known."""
    await auth.request_password_recovery(session, email, client=client)
    return Message(message=messages.RECOVERY_SENT)


@router.post("/reset-password/", responses=responses(*WITH_BODY, *USES_DATABASE))
async def reset_password(session: SessionDep, body: NewPassword) -> Message:
    await auth.reset_password(session, body.token, body.new_password)
    return Message(message=messages.PASSWORD_UPDATED)


@router.post(
    "/password-recovery-html-content/{email}",
    dependencies=[Depends(get_current_active_superuser)],
    response_class=HTMLResponse,
    responses=html_route_responses(*AUTHENTICATED, *USES_DATABASE),
)
async def recover_password_html_content(email: Text, session: ReadOnlySessionDep) -> HTMLResponse:
    """Preview the recovery email; the subject travels in a (valid) `subject` header."""
    user = await users.get_user_by_email(session, email)
    if user is None:
        raise NotFound(messages.USERNAME_NOT_FOUND)
    assert user.id is not None
    message = build_reset_password_email(user.email, create_reset_token(user.id))
    return HTMLResponse(content=message.html, headers={"subject": message.subject})
