"""Tokens and password recovery (tag `login`)."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from app.api.deps import (
    ClientAddress,
    DeviceToken,
    PasswordForm,
    ReadOnlySessionDep,
    SessionDep,
    UnverifiedCallerDep,
    UnverifiedUser,
    UserAgent,
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
from app.models import (
    Message,
    NewPassword,
    RefreshRequest,
    Text,
    Token,
    TokenPair,
    TwoFactorChallenge,
    TwoFactorLogin,
    UserPublic,
    VerifyEmail,
)
from app.services import auth, messages, users, verification
from app.services.errors import NotFound

router = APIRouter(tags=["login"])


# A login of an account with two-factor on.
TWO_FACTOR_CHALLENGE: dict[int | str, dict[str, Any]] = {
    401: {"model": TwoFactorChallenge, "description": "Two-factor code required"}
}


@router.post(
    "/login/access-token",
    responses={**responses(*WITH_BODY, *RATE_LIMITED, *USES_DATABASE), **TWO_FACTOR_CHALLENGE},
)
async def login_access_token(
    session: SessionDep,
    form_data: Annotated[PasswordForm, Depends()],
    client: ClientAddress,
    user_agent: UserAgent,
    device_token: DeviceToken = None,
) -> Token:
    """OAuth2 password flow: the email goes in `username`. Starts a session; its
    `refresh_token` renews it (`/login/refresh`), and `device_token`, sent back as
    `X-Device-Token` on later logins, keeps them out of the account's lockout. With
    two-factor on: `401 {"detail": "Two-factor code required", "challenge": ...}`, and
    the login goes on at `/login/2fa`."""
    result = await auth.login(
        session,
        form_data.username,
        form_data.password,
        client=client,
        user_agent=user_agent,
        device_token=device_token,
    )
    return Token(**asdict(result.tokens), device_token=result.device_token)


@router.post("/login/2fa", responses=responses(*WITH_BODY, *RATE_LIMITED, *USES_DATABASE))
async def login_two_factor(
    session: SessionDep,
    body: TwoFactorLogin,
    client: ClientAddress,
    user_agent: UserAgent,
    device_token: DeviceToken = None,
) -> Token:
    """The second step of a login: the challenge and a TOTP code (or a recovery code,
    which is then used up). Answers what `/login/access-token` answers; a wrong code
    counts against the login limits."""
    result = await auth.login_two_factor(
        session,
        body.challenge,
        body.code,
        client=client,
        user_agent=user_agent,
        device_token=device_token,
    )
    return Token(**asdict(result.tokens), device_token=result.device_token)


@router.post("/login/refresh", responses=responses(*WITH_BODY, *USES_DATABASE, 403))
async def refresh_access_token(session: SessionDep, body: RefreshRequest) -> TokenPair:
    """A new access token and refresh token for a refresh token, which retires: presented
    again, it ends its session (a stolen copy is in use)."""
    return TokenPair(**asdict(await auth.refresh(session, body.refresh_token)))


@router.post("/logout", responses=responses(*AUTHENTICATED, *USES_DATABASE))
async def logout(session: SessionDep, caller: UnverifiedCallerDep) -> Message:
    """End the caller's session: its access and refresh tokens stop working."""
    await auth.logout(session, caller)
    return Message(message=messages.LOGGED_OUT)


@router.post(
    "/login/test-token",
    response_model=UserPublic,
    responses=responses(*AUTHENTICATED, *USES_DATABASE),
)
async def test_token(current_user: UnverifiedUser) -> UserPublic:
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


@router.post("/verify-email/", responses=responses(*WITH_BODY, *USES_DATABASE, 409))
async def verify_email(session: SessionDep, body: VerifyEmail) -> Message:
    """Use the token of a mailed link: the address it was mailed to is verified, or,
    when it is the caller's pending new address, becomes the account's (`Email address
    changed`; `409` if another account has it by now). Once only."""
    return Message(message=await verification.verify_email(session, body.token))


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
