"""Single sign-on with OpenID Connect (tag `login`), and the account's linked provider
logins (tag `users`). With no provider configured every provider path answers 404."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Path, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.api.deps import ClientAddress, CurrentUser, DeviceToken, SessionDep, UserAgent
from app.api.errors import (
    AUTHENTICATED,
    RATE_LIMITED,
    USES_DATABASE,
    WITH_BODY,
    ErrorMessage,
    responses,
)
from app.api.routes.login import TWO_FACTOR_CHALLENGE
from app.core.config import PROVIDER_NAME_PATTERN, settings
from app.models import (
    IdentitiesPublic,
    Message,
    OidcLink,
    OidcLinkRequired,
    OidcProvidersPublic,
    Text,
    Token,
)
from app.services import messages, oidc
from app.services.auth import Login

router = APIRouter(prefix="/login/oidc", tags=["login"])
identities_router = APIRouter(prefix="/users/me/identities", tags=["users"])

# The flow's `state`, kept by the browser that started it: the callback must come
# from that browser (no one can make a victim's browser finish their login).
STATE_COOKIE = "oidc_state"
STATE_COOKIE_PATH = f"{settings.API_V1_STR}/login/oidc"
LINK_REQUIRED: dict[int | str, dict[str, Any]] = {
    409: {"model": OidcLinkRequired, "description": "Password needed to link the account"}
}
ProviderName = Annotated[
    str, Path(pattern=PROVIDER_NAME_PATTERN, description="The provider's `name` in OIDC_PROVIDERS")
]
PROVIDER_DOWN: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorMessage, "description": "The provider cannot be reached"}
}


def _token(login: Login) -> Token:
    return Token(**asdict(login.tokens), device_token=login.device_token)


@router.get("", responses=responses(*USES_DATABASE))
async def list_providers() -> OidcProvidersPublic:
    """The providers configured for single sign-on (OIDC_PROVIDERS)."""
    return oidc.list_providers()


@router.post(
    "/link",
    responses={**responses(*WITH_BODY, *RATE_LIMITED, *USES_DATABASE, 409), **TWO_FACTOR_CHALLENGE},
)
async def link_account(
    session: SessionDep,
    body: OidcLink,
    client: ClientAddress,
    user_agent: UserAgent,
    device_token: DeviceToken = None,
) -> Token:
    """Confirm the password of the account a callback's `409` named: the provider's
    login is linked to it, and the account signed in (two-factor applies)."""
    login = await oidc.link_with_password(
        session,
        body.link_token,
        body.password,
        client=client,
        user_agent=user_agent,
        device_token=device_token,
    )
    return _token(login)


@router.get(
    "/{provider}",
    status_code=302,
    response_class=RedirectResponse,
    responses={**responses(404, *RATE_LIMITED, *USES_DATABASE), **PROVIDER_DOWN},
)
async def start_login(
    provider: ProviderName,
    session: SessionDep,
    client: ClientAddress,
    return_to: Annotated[oidc.ReturnTo, Query()] = "api",
) -> RedirectResponse:
    """Open in a browser: redirects to the provider's login (authorization code with
    PKCE). It comes back to `/login/oidc/{provider}/callback`, which answers an API
    client (`return_to=api`) as `/login/access-token` does, or sends the UI
    (`return_to=ui`) to its `/login/oidc` page."""
    flow = await oidc.start_login(session, provider, return_to=return_to, client=client)
    response = RedirectResponse(flow.authorization_url, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        flow.state,
        max_age=settings.OIDC_FLOW_EXPIRE_MINUTES * 60,
        path=STATE_COOKIE_PATH,
        secure=oidc.callback_url(provider).startswith("https:"),
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET from another site.
        samesite="lax",
    )
    return response


@router.get(
    "/{provider}/callback",
    responses={
        **responses(400, 404, *RATE_LIMITED, *USES_DATABASE),
        **TWO_FACTOR_CHALLENGE,
        **LINK_REQUIRED,
        **PROVIDER_DOWN,
        302: {"description": "To the UI's /login/oidc page (flows started with return_to=ui)"},
    },
)
async def finish_login(
    provider: ProviderName,
    session: SessionDep,
    client: ClientAddress,
    user_agent: UserAgent,
    state: Annotated[Text, Query(max_length=256)] = "",
    code: Annotated[Text, Query(max_length=4096)] = "",
    error: Annotated[Text, Query(max_length=256)] = "",
    oidc_state: Annotated[Text | None, Cookie(max_length=256)] = None,
    device_token: DeviceToken = None,
) -> Token:
    """Where the provider sends the browser back. The account linked to the provider's
    login is signed in (or created, when the provider allows sign-up); an account that
    has the address, verified by the provider, answers `409` with a `link_token` for
    `/login/oidc/link`. Two-factor applies as to any login (`401` with a challenge)."""
    result = await oidc.finish_login(
        session,
        provider,
        state=state,
        cookie_state=oidc_state or "",
        code=code,
        error=error,
        client=client,
        user_agent=user_agent,
        device_token=device_token,
    )
    if result.ui_code is not None:
        target = f"{settings.FRONTEND_HOST.rstrip('/')}{oidc.UI_LANDING_PATH}?code={result.ui_code}"
        response: Response = RedirectResponse(target, status_code=302)
    else:
        assert result.login is not None
        response = JSONResponse(_token(result.login).model_dump(mode="json"))
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
    return response  # type: ignore[return-value]


@identities_router.get("", responses=responses(*AUTHENTICATED, *USES_DATABASE))
async def read_identities(session: SessionDep, current_user: CurrentUser) -> IdentitiesPublic:
    """The provider logins linked to the caller's account."""
    return await oidc.list_identities(session, current_user)


@identities_router.delete("/{provider}", responses=responses(*AUTHENTICATED, *USES_DATABASE))
async def unlink_identity(
    provider: ProviderName, session: SessionDep, current_user: CurrentUser
) -> Message:
    """Unlink the caller's login with `provider`; `400` when it is the last way to log
    in (no password and no other provider): set a password first (password recovery)."""
    await oidc.unlink(session, current_user, provider)
    return Message(message=messages.IDENTITY_UNLINKED)
