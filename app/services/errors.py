"""Domain errors: services raise these; the API and the UI translate them."""


class DomainError(Exception):
    """A broken rule; `detail` is the message shown to the user or client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(DomainError):
    pass


class InvalidCredentials(DomainError):
    """A token that cannot be trusted (bad, expired, revoked)."""

    def __init__(self, detail: str = "Could not validate credentials") -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    pass


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class TwoFactorRequired(DomainError):
    """The password was right; the login goes on at POST /login/2fa with `challenge`."""

    def __init__(self, detail: str, challenge: str) -> None:
        super().__init__(detail)
        self.challenge = challenge


class LinkRequired(DomainError):
    """A sign-on found an account with the provider's verified address: its password,
    with `link_token`, links the two (POST /login/oidc/link)."""

    def __init__(self, detail: str, link_token: str, email: str, provider: str) -> None:
        super().__init__(detail)
        self.link_token, self.email, self.provider = link_token, email, provider


class ProviderUnavailable(DomainError):
    """An identity provider did not answer, or not in a way we can use."""


class TooManyRequests(DomainError):
    """A rate limit was reached; `retry_after` seconds until the window resets."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
