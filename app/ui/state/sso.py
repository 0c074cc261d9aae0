"""Single sign-on in the UI: the /login/oidc page that finishes a provider's login, and
the Linked logins tab of User Settings."""

import dataclasses

from app.db import read_session, session_scope
from app.models import PROVIDER_NAME_MAX_LENGTH, IdentityPublic
from app.services import messages, oidc
from app.services.errors import BadRequest, TwoFactorRequired
from app.ui.state import validation
from app.ui.state.auth import AuthState
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures, success_toast
from app.ui.state.public import LoginState

TAB = "identities"


class SsoState(LoginState):
    """The page a provider's login lands on (through the callback's one-time code): it
    signs in, asks for the two-factor code (LoginState's step), offers to link an
    account by its password, or says what went wrong."""

    link_email: str = ""
    link_provider: str = ""
    sso_error: str = ""
    # The link offer's secret stays on the server.
    _link_token: str = ""

    @event
    @reports_failures()
    async def redeem(self) -> Events:
        """on_load: the code in the URL, taken once."""
        self.link_email = self.link_provider = self.sso_error = self.password_error = ""
        self._link_token = self._challenge = ""
        self.two_factor_step = False
        code = self.router.url.query_parameters.get("code", "")
        try:
            async with session_scope() as session:
                result = await oidc.redeem_login_code(
                    session, code if isinstance(code, str) else "", **self._login_origin()
                )
        except TwoFactorRequired as required:
            self._ask_for_code(required)
            return None
        except BadRequest as error:
            self.sso_error = error.detail
            return None
        if isinstance(result, oidc.LinkPending):
            self._link_token = result.link_token
            self.link_email, self.link_provider = result.email, result.provider
            return None
        return await self._signed_in(result)

    @event
    @reports_failures(busy="submitting")
    async def link(self, form: dict[str, str]) -> Events:
        """The account's password links the provider's login to it, and signs in."""
        password = form.get("password", "")
        self.password_error = validation.required_error(password, validation.PASSWORD_REQUIRED)
        if self.password_error:
            return None
        try:
            async with session_scope() as session:
                result = await oidc.link_with_password(
                    session, self._link_token, password, **self._login_origin()
                )
        except TwoFactorRequired as required:
            # Linked; the account's second factor finishes the login.
            self.link_email = self._link_token = ""
            self._ask_for_code(required)
            return None
        return await self._signed_in(result)


@dataclasses.dataclass
class IdentityRow:
    provider: str = ""
    display_name: str = ""
    email: str = ""
    linked: str = ""

    @classmethod
    def of(cls, data: IdentityPublic) -> "IdentityRow":
        return cls(
            provider=data.provider,
            display_name=data.display_name,
            email=data.email,
            linked=data.created_at.strftime("%Y-%m-%d"),
        )


class IdentitiesState(AuthState):
    identities: list[IdentityRow] = []
    linked: int = 0
    has_password: bool = True
    loading: bool = False
    unlinking: bool = False

    @event
    @reports_failures(busy="loading")
    async def open_tab(self, tab: str) -> None:
        """The settings tabs' on_change: the linked logins are read when their tab opens."""
        if tab == TAB:
            await self._load()

    async def _load(self) -> None:
        user = await self._current_user()
        async with read_session() as session:
            found = await oidc.list_identities(session, user)
        self.identities = [IdentityRow.of(data) for data in found.data]
        self.linked = len(self.identities)
        self.has_password = found.has_password

    @event
    @reports_failures(busy="unlinking")
    async def unlink(self, provider: str) -> Events:
        user = await self._current_user()
        if type(provider) is not str or len(provider) > PROVIDER_NAME_MAX_LENGTH:
            return None
        async with session_scope() as session:
            await oidc.unlink(session, user, provider)
        await self._load()
        return success_toast(messages.IDENTITY_UNLINKED)
