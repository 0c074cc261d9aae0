"""Changing one's own address through the REST API, with the mails read from real SMTP:
at once (the default) or confirmed from the new address (CONFIRM_EMAIL_CHANGES)."""

from email.message import EmailMessage

import httpx
import pytest

from app.core.config import settings
from app.core.security import create_verify_token
from app.emails.sending import wait_for_pending_emails
from app.services import messages, verification
from tests.conftest import Account, login_headers
from tests.emails.conftest import Mailbox
from tests.emails.test_delivery import parts
from tests.emails.test_email_verification import link_token, me, verify
from tests.factories import random_email, random_lower_string

API = settings.API_V1_STR


async def mails(mailbox: Mailbox) -> dict[str, EmailMessage]:
    """The newest mail that arrived for each recipient."""
    await wait_for_pending_emails()
    return {str(message["To"]): message for message in mailbox.messages}


async def change_email(client: httpx.AsyncClient, account: Account, email: str) -> httpx.Response:
    return await client.patch(f"{API}/users/me", headers=account.headers, json={"email": email})


async def test_by_default_the_address_changes_at_once_unverified(
    client: httpx.AsyncClient, normal_user: Account, smtp_server: Mailbox
) -> None:
    await verify(client, create_verify_token(normal_user.id, normal_user.email))
    new_email = random_email()
    response = await change_email(client, normal_user, new_email)
    assert response.status_code == 200
    body = response.json()
    # The new address is not proven yet.
    assert (body["email"], body["email_verified"], body["pending_email"]) == (
        new_email,
        False,
        None,
    )
    sent = await mails(smtp_server)
    assert set(sent) == {new_email, normal_user.email}
    notice = sent[normal_user.email]
    assert notice["Subject"] == f"{settings.PROJECT_NAME} - Your email address was changed"
    assert set(parts(notice)) == {"text/plain", "text/html"}
    assert new_email in parts(notice)["text/plain"]
    assert "Verify your email address" in str(sent[new_email]["Subject"])
    verified = await verify(client, link_token(sent[new_email]))
    assert verified.json() == {"message": "Email address verified"}
    assert (await me(client, normal_user.headers))["email_verified"] is True


async def test_the_same_address_again_changes_nothing_and_mails_nobody(
    client: httpx.AsyncClient, superuser: Account, smtp_server: Mailbox
) -> None:
    response = await change_email(client, superuser, superuser.email)
    assert response.json()["email_verified"] is True
    assert await mails(smtp_server) == {}


@pytest.fixture
def confirmed_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CONFIRM_EMAIL_CHANGES", True)


confirmed = pytest.mark.usefixtures("confirmed_changes")


@confirmed
async def test_a_new_address_waits_for_its_link(
    client: httpx.AsyncClient, normal_user: Account, smtp_server: Mailbox
) -> None:
    new_email = random_email()
    response = await change_email(client, normal_user, new_email)
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["pending_email"]) == (normal_user.email, new_email)

    sent = await mails(smtp_server)
    notice, confirmation = sent[normal_user.email], sent[new_email]
    assert notice["Subject"] == f"{settings.PROJECT_NAME} - Your email address is being changed"
    assert confirmation["Subject"] == f"{settings.PROJECT_NAME} - Confirm your new email address"
    assert normal_user.email in parts(confirmation)["text/plain"]
    # Until the link is followed, the account logs in with its old address.
    await login_headers(client, normal_user.email, normal_user.password)

    token = link_token(confirmation)
    changed = await verify(client, token)
    assert (changed.status_code, changed.json()) == (200, {"message": "Email address changed"})
    account = await me(client, normal_user.headers)
    assert (account["email"], account["email_verified"], account["pending_email"]) == (
        new_email,
        True,
        None,
    )
    await login_headers(client, new_email, normal_user.password)

    again = await verify(client, token)
    assert (again.status_code, again.json()) == (400, {"detail": "Email address already verified"})


@confirmed
async def test_only_the_latest_request_can_be_confirmed(
    client: httpx.AsyncClient, normal_user: Account, smtp_server: Mailbox
) -> None:
    first, second = random_email(), random_email()
    await change_email(client, normal_user, first)
    await change_email(client, normal_user, second)
    sent = await mails(smtp_server)
    stale = await verify(client, link_token(sent[first]))
    assert (stale.status_code, stale.json()) == (400, {"detail": "Invalid token"})
    assert (await verify(client, link_token(sent[second]))).status_code == 200
    assert (await me(client, normal_user.headers))["email"] == second


@confirmed
async def test_expired_and_forged_change_links_change_nothing(
    client: httpx.AsyncClient,
    normal_user: Account,
    other_user: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new_email = random_email()
    await change_email(client, normal_user, new_email)
    # Another account's link for that address, and the right one expired.
    forged = create_verify_token(other_user.id, new_email)
    monkeypatch.setattr(settings, "EMAIL_VERIFY_TOKEN_EXPIRE_HOURS", -1)
    expired = create_verify_token(normal_user.id, new_email)
    for token in (forged, expired):
        response = await verify(client, token)
        assert (response.status_code, response.json()) == (400, {"detail": "Invalid token"})
    assert (await me(client, normal_user.headers))["email"] == normal_user.email


@confirmed
async def test_an_address_taken_meanwhile_is_a_conflict(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account
) -> None:
    wanted = random_email()
    await change_email(client, normal_user, wanted)
    await change_email(client, other_user, wanted)
    # A pending address is not reserved: a sign-up takes it, or another's confirmation.
    assert (await verify(client, create_verify_token(other_user.id, wanted))).status_code == 200
    lost = await verify(client, create_verify_token(normal_user.id, wanted))
    assert (lost.status_code, lost.json()) == (409, {"detail": messages.EMAIL_TAKEN_UPDATE})
    assert (await me(client, normal_user.headers))["email"] == normal_user.email


@confirmed
async def test_a_race_lost_at_the_unique_index_is_a_conflict_not_a_500(
    client: httpx.AsyncClient, normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = random_email()
    await change_email(client, normal_user, wanted)
    signup = await client.post(
        f"{API}/users/signup", json={"email": wanted, "password": random_lower_string()}
    )
    assert signup.status_code == 200

    async def not_yet_taken(*_: object) -> bool:
        # The sign-up commits between the check and this commit.
        return False

    monkeypatch.setattr(verification, "_taken_by_other", not_yet_taken)
    lost = await verify(client, create_verify_token(normal_user.id, wanted))
    assert (lost.status_code, lost.json()) == (409, {"detail": messages.EMAIL_TAKEN_UPDATE})
    account = await me(client, normal_user.headers)
    assert (account["email"], account["pending_email"]) == (normal_user.email, wanted)


@confirmed
async def test_a_taken_address_is_refused_when_asked(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account, smtp_server: Mailbox
) -> None:
    response = await change_email(client, normal_user, other_user.email)
    assert (response.status_code, response.json()) == (409, {"detail": messages.EMAIL_TAKEN_UPDATE})
    assert await mails(smtp_server) == {}


@confirmed
async def test_a_superusers_edit_changes_the_address_at_once(
    client: httpx.AsyncClient, normal_user: Account, superuser: Account
) -> None:
    new_email = random_email()
    response = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"email": new_email}
    )
    assert (response.json()["email"], response.json()["pending_email"]) == (new_email, None)
