"""Accounts (tag `users`). `/me` and `/signup` come before `/{user_id}`."""

from fastapi import APIRouter, Depends, Response

from app.api.deps import (
    CallerDep,
    ClientAddress,
    CurrentUser,
    Limit,
    ReplicaReadsDep,
    SessionDep,
    Skip,
    SuperUser,
    UnverifiedUser,
    get_current_active_superuser,
)
from app.api.errors import AUTHENTICATED, RATE_LIMITED, USES_DATABASE, WITH_BODY, responses
from app.api.serializers import USERS_PAGE, json_response
from app.models import (
    Message,
    RecoveryCodes,
    TwoFactorCode,
    TwoFactorDisable,
    TwoFactorSetup,
    UpdatePassword,
    UserCreate,
    UserPublic,
    UserRegister,
    UsersPage,
    UsersPublic,
    UserUpdate,
    UserUpdateMe,
)
from app.services import messages, two_factor, users, verification

router = APIRouter(prefix="/users", tags=["users"], responses=responses(*USES_DATABASE))
# Every route but signup resolves the caller first.
AUTH = responses(*AUTHENTICATED)


@router.get(
    "/",
    dependencies=[Depends(get_current_active_superuser)],
    response_model=UsersPublic,
    responses=AUTH,
)
async def read_users(reads: ReplicaReadsDep, skip: Skip = 0, limit: Limit = 100) -> Response:
    rows, count = await reads(users.list_users, skip, limit)
    return json_response(USERS_PAGE, UsersPage(data=rows, count=count))


@router.post(
    "/",
    dependencies=[Depends(get_current_active_superuser)],
    response_model=UserPublic,
    responses={**AUTH, **responses(*WITH_BODY)},
)
async def create_user(session: SessionDep, user_in: UserCreate) -> UserPublic:
    return UserPublic.model_validate(await users.create_user_by_admin(session, user_in))


@router.patch("/me", response_model=UserPublic, responses={**AUTH, **responses(409, *WITH_BODY)})
async def update_user_me(
    session: SessionDep, user_in: UserUpdateMe, current_user: CurrentUser
) -> UserPublic:
    return UserPublic.model_validate(await users.update_me(session, current_user, user_in))


@router.patch("/me/password", responses={**AUTH, **responses(*WITH_BODY)})
async def update_password_me(
    session: SessionDep, body: UpdatePassword, caller: CallerDep
) -> Message:
    """Change the caller's password; every other session of theirs ends."""
    await users.change_password(
        session,
        caller.user,
        body.current_password,
        body.new_password,
        current_session=caller.session_id,
    )
    return Message(message=messages.PASSWORD_UPDATED)


@router.get("/me", response_model=UserPublic, responses=AUTH)
async def read_user_me(current_user: UnverifiedUser) -> UserPublic:
    return UserPublic.model_validate(current_user)


@router.delete("/me", responses=AUTH)
async def delete_user_me(session: SessionDep, current_user: UnverifiedUser) -> Message:
    await users.delete_me(session, current_user)
    return Message(message=messages.USER_DELETED)


@router.post("/me/verification-email", responses={**AUTH, **responses(*RATE_LIMITED)})
async def send_verification_email(current_user: UnverifiedUser) -> Message:
    """Mail the caller a new verification link (`400 Email address already verified`
    if there is nothing to verify)."""
    await verification.resend_verification_email(current_user)
    return Message(message=messages.VERIFICATION_SENT)


@router.post("/me/2fa", responses=AUTH)
async def begin_two_factor(session: SessionDep, current_user: CurrentUser) -> TwoFactorSetup:
    """A new TOTP secret, its `otpauth://` URI and the URI as an SVG QR code; two-factor
    is on only once a code confirms it (`/me/2fa/confirm`)."""
    setup = await two_factor.begin_setup(session, current_user)
    return TwoFactorSetup(secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg)


@router.post("/me/2fa/confirm", responses={**AUTH, **responses(*WITH_BODY)})
async def confirm_two_factor(
    session: SessionDep, body: TwoFactorCode, current_user: CurrentUser
) -> RecoveryCodes:
    """Turn two-factor on with a code of the new secret; answers ten single-use recovery
    codes, shown this once."""
    codes = await two_factor.confirm_setup(session, current_user, body.code)
    return RecoveryCodes(recovery_codes=codes)


@router.delete("/me/2fa", responses={**AUTH, **responses(*WITH_BODY)})
async def disable_two_factor(
    session: SessionDep, body: TwoFactorDisable, current_user: CurrentUser
) -> Message:
    """Turn two-factor off: the password and a TOTP or recovery code."""
    await two_factor.disable(session, current_user, body.password, body.code)
    return Message(message=messages.TWO_FACTOR_DISABLED)


@router.post("/signup", response_model=UserPublic, responses=responses(*WITH_BODY, *RATE_LIMITED))
async def register_user(
    session: SessionDep, user_in: UserRegister, client: ClientAddress
) -> UserPublic:
    return UserPublic.model_validate(await users.register_user(session, user_in, client=client))


@router.get("/{user_id}", response_model=UserPublic, responses=AUTH)
async def read_user_by_id(
    user_id: int, reads: ReplicaReadsDep, current_user: CurrentUser
) -> UserPublic:
    return UserPublic.model_validate(await reads(users.read_user, current_user, user_id))


@router.patch(
    "/{user_id}",
    dependencies=[Depends(get_current_active_superuser)],
    response_model=UserPublic,
    responses={**AUTH, **responses(409, *WITH_BODY)},
)
async def update_user(
    session: SessionDep, caller: CallerDep, user_id: int, user_in: UserUpdate
) -> UserPublic:
    """A new password ends the user's sessions (the caller's own excepted), deactivation
    all of them; the last active superuser stays one."""
    updated = await users.update_user(session, user_id, user_in, current_session=caller.session_id)
    return UserPublic.model_validate(updated)


@router.delete("/{user_id}", responses=AUTH)
async def delete_user(session: SessionDep, current_user: SuperUser, user_id: int) -> Message:
    await users.delete_user(session, current_user, user_id)
    return Message(message=messages.USER_DELETED)
