"""Everything a real backend logs at DEBUG during a whole account's life (sign-up, logins
right and wrong, a password change, an account made by an admin, recovery by email, a
reset, a login through the UI's websocket) holds none of the passwords, tokens or email
bodies involved."""

import asyncio
import re
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from app.core.config import settings
from app.ui.state.public import LoginState
from tests.conftest import Account
from tests.emails.conftest import BoundController, Mailbox, loopback_listener
from tests.live.conftest import LiveBackend, run_own_backend
from tests.live.reflex_tab import AUTH, Tab

API = settings.API_V1_STR
SMTP_PASSWORD = "smtp-password-in-the-env"
EMAIL = "whole-flow@example.com"
PASSWORDS = {
    "signup": "signup-password-1",
    "changed": "changed-password-2",
    "reset": "reset-password-3",
    "wrong": "wrong-password-4",
    "admin-made": "admin-made-password-5",
}
pytestmark = [
    pytest.mark.live,
    # On purpose: a login over plain SMTP, as a mail relay on the internal network takes.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]


@pytest.fixture(scope="module")
def smtp() -> Iterator[BoundController]:
    """An SMTP server that wants a login (so the backend holds a password to leak)."""
    box = Mailbox(password=SMTP_PASSWORD.encode())
    controller = BoundController(
        box,
        loopback_listener(),
        auth_required=True,
        auth_require_tls=False,
        authenticator=box.authenticate,
    )
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture(scope="module")
def mailbox(smtp: BoundController) -> Mailbox:
    box: Mailbox = smtp.handler
    return box


@pytest.fixture(scope="module")
def debug_backend(
    database: str, smtp: BoundController, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveBackend]:
    yield from run_own_backend(
        database,
        tmp_path_factory,
        "debug-backend",
        LOG_LEVEL="DEBUG",
        # Reflex's and granian's own lines at their most talkative too.
        REFLEX_LOGLEVEL="debug",
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_TLS="false",
        SMTP_SSL="false",
        SMTP_USER="mailer",
        SMTP_PASSWORD=SMTP_PASSWORD,
        EMAILS_FROM_EMAIL="info@example.com",
    )


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def reset_token(message: EmailMessage) -> str:
    """The token of the message's link (a reset or a verification link)."""
    found = re.search(r"token=([\w.-]+)", body(message))
    assert found, body(message)
    return found.group(1)


async def login(client: httpx.AsyncClient, password: str, expected: int = 200) -> str:
    response = await client.post(
        f"{API}/login/access-token", data={"username": EMAIL, "password": password}
    )
    assert response.status_code == expected, response.text
    return str(response.json().get("access_token", ""))


async def test_a_whole_flow_at_debug_logs_no_secret(
    debug_backend: LiveBackend, mailbox: Mailbox, superuser: Account
) -> None:
    secrets = [SMTP_PASSWORD, *PASSWORDS.values()]
    async with httpx.AsyncClient(base_url=debug_backend.url, timeout=30) as client:
        signup = await client.post(
            f"{API}/users/signup", json={"email": EMAIL, "password": PASSWORDS["signup"]}
        )
        assert signup.status_code == 200, signup.text
        first = await login(client, PASSWORDS["signup"])
        await login(client, PASSWORDS["wrong"], expected=400)
        auth = {"Authorization": f"Bearer {first}"}
        assert (await client.get(f"{API}/users/me", headers=auth)).status_code == 200
        changed = await client.patch(
            f"{API}/users/me/password",
            json={"current_password": PASSWORDS["signup"], "new_password": PASSWORDS["changed"]},
            headers=auth,
        )
        assert changed.status_code == 200, changed.text
        second = await login(client, PASSWORDS["changed"])

        made = await client.post(
            f"{API}/users/",
            json={"email": "made-by-admin@example.com", "password": PASSWORDS["admin-made"]},
            headers=superuser.headers,
        )
        assert made.status_code == 200, made.text
        recovery = await client.post(f"{API}/password-recovery/{EMAIL}")
        assert recovery.status_code == 200, recovery.text
        # The sign-up's verification mail, the new account's, the recovery mail.
        await wait_for_messages(mailbox, 3)
        [verification_mail] = [m for m in mailbox.messages if "Verify" in str(m["Subject"])]
        [recovery_mail] = [m for m in mailbox.messages if "recovery" in str(m["Subject"])]
        token = reset_token(recovery_mail)
        verify_token = reset_token(verification_mail)
        reset = await client.post(
            f"{API}/reset-password/", json={"token": token, "new_password": PASSWORDS["reset"]}
        )
        assert reset.status_code == 200, reset.text
        secrets += [first, second, token, verify_token, superuser.headers["Authorization"][7:]]

    tab = Tab(debug_backend.url)
    await tab.open("/login")
    await tab.send(
        f"{LoginState.get_full_name()}.log_in",
        {"form": {"email": EMAIL, "password": PASSWORDS["reset"]}},
        "/login",
    )
    ui_token = await tab.wait_for(AUTH, "access_token", lambda value: bool(value))
    await tab.close()
    secrets += [ui_token, tab.client_token]
    # Each mail's lines long enough to be its own (links, the new account's details).
    assert len(mailbox.messages) == 3
    for message in mailbox.messages:
        secrets += [line for line in body(message).splitlines() if len(line.strip()) > 30]
        secrets.append(reset_token(message))
    assert mailbox.logins
    assert all(password == SMTP_PASSWORD.encode() for _, password in mailbox.logins)

    logged = debug_backend.log.read_text(errors="replace")
    # The flow was logged, and at DEBUG: the test looks at a log that says something.
    for expected in ("/api/v1/users/me/password", "/api/v1/reset-password/", "LoginState.log_in"):
        assert expected in logged
    assert " DEBUG " in logged
    leaked = [secret for secret in secrets if secret in logged]
    assert not leaked


async def wait_for_messages(box: Mailbox, count: int) -> None:
    for _ in range(200):
        if len(box.messages) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(box.messages)} messages, expected {count}")
