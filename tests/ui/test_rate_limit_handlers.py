"""Rate limits through the UI's handlers: the REST API's limits and messages, counted
per websocket client address (Reflex's `router.session.client_ip`).

States are driven as in test_handlers.py, with the default limits in force, in memory
and in the real Redis (`default_limits`).
"""

from typing import Any, TypeVar

import httpx
import pytest
import reflex as rx
from reflex.event import EventSpec
from reflex.istate.data import RouterData, SessionData

from app.core.config import settings
from app.emails import EmailMessage
from app.services.rate_limits import Limit
from app.ui.state.auth import AuthState
from app.ui.state.public import LoginState, RecoverPasswordState, SignupState
from tests.conftest import DEFAULT_RATES, Account
from tests.factories import random_email, random_lower_string

S = TypeVar("S", bound=AuthState)
TOO_MANY_LOGINS = "Too many failed login attempts. Try again in "

pytestmark = pytest.mark.usefixtures("default_limits")


def tab(state_class: type[S], client_ip: str) -> S:
    """A state of a tab whose websocket comes from `client_ip`."""
    # Reflex's flag for a state the framework builds (the test stands in for its state
    # manager); mypy sees State's fields-only __init__ (as a model), which lacks it.
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    state = root.get_substate(state_class.get_full_name().split(".")[1:])
    assert isinstance(state, state_class)
    state.router = RouterData(session=SessionData(client_ip=client_ip))
    return state


def text(events: Any) -> str:
    if events is None:
        return ""
    if isinstance(events, EventSpec):
        return " ".join(f"{name}={value}" for name, value in events.args)
    return " | ".join(text(event) for event in events)


async def run(handler: Any, state: rx.State, *args: Any) -> str:
    """Run a handler to the end, as Reflex does; the events it sent, as text."""
    sent = [events async for events in handler.fn(state, *args)]
    return text([event for event in sent if event is not None])


def limit_of(name: str) -> int:
    return int(DEFAULT_RATES[Limit[name]].split("/")[0])


async def test_wrong_passwords_in_the_ui_lock_the_account_for_the_api_too(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    wrong = {"email": normal_user.email, "password": "wrong-password"}
    for attempt in range(limit_of("LOGIN_FAILURES_PER_ACCOUNT")):
        state = tab(LoginState, f"10.0.0.{attempt}")
        assert "Incorrect email or password" in await run(LoginState.log_in, state, wrong)

    state = tab(LoginState, "10.0.1.1")
    right = {"email": normal_user.email, "password": normal_user.password}
    shown = await run(LoginState.log_in, state, right)
    assert TOO_MANY_LOGINS in shown
    assert state.access_token == ""
    assert state.submitting is False
    r = await client.post(
        f"{settings.API_V1_STR}/login/access-token",
        data={"username": normal_user.email, "password": normal_user.password},
    )
    assert r.status_code == 429
    assert r.json()["detail"] in shown


async def test_the_ui_counts_failures_per_websocket_address(other_user: Account) -> None:
    attacker = "198.51.100.7"
    for _ in range(limit_of("LOGIN_FAILURES_PER_ADDRESS")):
        wrong = {"email": random_email(), "password": "wrong-password"}
        assert "Incorrect" in await run(LoginState.log_in, tab(LoginState, attacker), wrong)
    right = {"email": other_user.email, "password": other_user.password}
    assert TOO_MANY_LOGINS in await run(LoginState.log_in, tab(LoginState, attacker), right)
    elsewhere = tab(LoginState, "192.0.2.1")
    assert '"/"' in await run(LoginState.log_in, elsewhere, right)
    assert elsewhere.access_token


async def test_signups_in_the_ui_are_limited_per_address() -> None:
    def form() -> dict[str, str]:
        password = random_lower_string(12)
        return {
            "full_name": "Ada",
            "email": random_email(),
            "password": password,
            "confirm_password": password,
        }

    for _ in range(limit_of("SIGNUPS_PER_ADDRESS")):
        assert "/login" in await run(SignupState.sign_up, tab(SignupState, "203.0.113.5"), form())
    shown = await run(SignupState.sign_up, tab(SignupState, "203.0.113.5"), form())
    assert "Too many sign-ups from this address. Try again in " in shown
    assert "/login" in await run(SignupState.sign_up, tab(SignupState, "203.0.113.6"), form())


async def test_recovery_in_the_ui_is_limited_per_email(
    normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, EmailMessage]] = []
    monkeypatch.setattr(
        "app.services.auth.schedule_email", lambda to, message: sent.append((to, message))
    )
    form = {"email": normal_user.email}
    for attempt in range(limit_of("RECOVERY_PER_EMAIL")):
        state = tab(RecoverPasswordState, f"10.0.0.{attempt}")
        assert "sent successfully" in await run(RecoverPasswordState.recover, state, form)
    state = tab(RecoverPasswordState, "10.0.1.1")
    shown = await run(RecoverPasswordState.recover, state, form)
    assert "Too many password recovery requests. Try again in " in shown
    assert len(sent) == limit_of("RECOVERY_PER_EMAIL")
