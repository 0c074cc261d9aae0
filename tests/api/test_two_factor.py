"""Two-factor authentication (TOTP, RFC 6238) through the REST API."""

import base64

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import security
from app.core.config import settings
from app.core.security import create_reset_token
from app.services import messages, two_factor, users
from app.services.two_factor import code_at, current_step
from tests.conftest import Account

API = settings.API_V1_STR

# RFC 6238, appendix B (SHA-1): the 20-byte ASCII key and eight-digit codes.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "code"), RFC_VECTORS)
def test_codes_are_rfc_6238s(at: int, code: str) -> None:
    assert code_at(RFC_SECRET, at // 30, digits=8) == code


def test_a_code_is_taken_within_one_step_of_now_only() -> None:
    now = 1_000_000.0
    step = current_step(now)
    for offset in (-1, 0, 1):
        assert two_factor.matching_step(RFC_SECRET, code_at(RFC_SECRET, step + offset), now) == (
            step + offset
        )
    for offset in (-2, 2):
        assert two_factor.matching_step(RFC_SECRET, code_at(RFC_SECRET, step + offset), now) is None
    assert two_factor.matching_step(RFC_SECRET, "12345", now) is None
    assert two_factor.matching_step(RFC_SECRET, "１２３４５６", now) is None


async def turn_on(client: httpx.AsyncClient, account: Account) -> tuple[str, list[str]]:
    """Two-factor on for `account` through the API: its secret and recovery codes. The
    current step's code is then used."""
    setup = await client.post(f"{API}/users/me/2fa", headers=account.headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    confirm = await client.post(
        f"{API}/users/me/2fa/confirm",
        headers=account.headers,
        json={"code": code_at(secret, current_step())},
    )
    assert confirm.status_code == 200, confirm.text
    return secret, confirm.json()["recovery_codes"]


async def password_step(client: httpx.AsyncClient, account: Account) -> httpx.Response:
    return await client.post(
        f"{API}/login/access-token",
        data={"username": account.email, "password": account.password},
    )


async def challenge_of(client: httpx.AsyncClient, account: Account) -> str:
    response = await password_step(client, account)
    assert response.status_code == 401, response.text
    challenge: str = response.json()["challenge"]
    return challenge


async def code_step(client: httpx.AsyncClient, challenge: str, code: str) -> httpx.Response:
    return await client.post(f"{API}/login/2fa", json={"challenge": challenge, "code": code})


async def test_setup_answers_a_secret_its_uri_and_a_qr_code(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    response = await client.post(f"{API}/users/me/2fa", headers=normal_user.headers)
    body = response.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert len(base64.b32decode(body["secret"])) == 20
    assert body["otpauth_uri"].startswith("otpauth://totp/Full%20Stack%20Reflex%3A")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<path" in body["qr_svg"]
    # Not on until a code confirms it: the login is as before.
    assert (await password_step(client, normal_user)).status_code == 200


async def test_confirming_turns_it_on_with_ten_recovery_codes(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    setup = await client.post(f"{API}/users/me/2fa", headers=normal_user.headers)
    secret = setup.json()["secret"]
    url = f"{API}/users/me/2fa/confirm"
    wrong = await client.post(url, headers=normal_user.headers, json={"code": "abcdef"})
    assert (wrong.status_code, wrong.json()) == (400, {"detail": "Invalid two-factor code"})
    assert secret
    _, codes = await turn_on(client, normal_user)
    assert len(codes) == len(set(codes)) == 10
    me = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert me.json()["two_factor_enabled"] is True
    again = await client.post(f"{API}/users/me/2fa", headers=normal_user.headers)
    assert again.json() == {"detail": "Two-factor authentication is already on"}


async def test_confirming_before_setup_is_refused(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    response = await client.post(
        f"{API}/users/me/2fa/confirm", headers=normal_user.headers, json={"code": "123456"}
    )
    assert response.json() == {"detail": "Start the two-factor setup first"}


async def test_a_login_asks_for_the_code_and_takes_each_once(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    secret, _ = await turn_on(client, normal_user)
    response = await password_step(client, normal_user)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert set(body) == {"detail", "challenge"}
    assert body["detail"] == "Two-factor code required"

    # The setup's code (this step's) was taken: not again, within its step or after.
    replay = await code_step(client, body["challenge"], code_at(secret, current_step()))
    assert (replay.status_code, replay.json()) == (400, {"detail": "Invalid two-factor code"})
    # The next step's code (a phone a little ahead) is taken, once.
    code = code_at(secret, current_step() + 1)
    login = await code_step(client, body["challenge"], code)
    assert login.status_code == 200, login.text
    assert set(login.json()) == {
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "device_token",
    }
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200
    assert (await code_step(client, body["challenge"], code)).status_code == 400


async def test_a_recovery_code_logs_in_once(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    _, codes = await turn_on(client, normal_user)
    challenge = await challenge_of(client, normal_user)
    # As typed from paper: any case, spaces for dashes.
    typed = codes[3].upper().replace("-", " ")
    assert (await code_step(client, challenge, typed)).status_code == 200
    again = await code_step(client, challenge, codes[3])
    assert (again.status_code, again.json()) == (400, {"detail": "Invalid two-factor code"})
    assert (await code_step(client, challenge, codes[4])).status_code == 200


async def test_expired_forged_and_stale_challenges_are_refused(
    client: httpx.AsyncClient,
    normal_user: Account,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret, codes = await turn_on(client, normal_user)
    monkeypatch.setattr(security, "TWO_FACTOR_CHALLENGE_MINUTES", -1)
    expired = await challenge_of(client, normal_user)
    monkeypatch.undo()
    stale = await challenge_of(client, normal_user)
    user = await users.get_user(session, normal_user.id)
    assert user is not None
    await users.reset_password(session, user, "a-new-password-entirely")
    for challenge in (
        expired,
        "forged",
        normal_user.token,
        create_reset_token(normal_user.id),
        stale,  # issued before the password changed
    ):
        response = await code_step(client, challenge, codes[0])
        assert (response.status_code, response.json()) == (
            400,
            {"detail": messages.INVALID_TWO_FACTOR_CHALLENGE},
        )
    # None of them used the recovery code up.
    fresh = await client.post(
        f"{API}/login/access-token",
        data={"username": normal_user.email, "password": "a-new-password-entirely"},
    )
    assert (await code_step(client, fresh.json()["challenge"], codes[0])).status_code == 200
    assert secret


@pytest.mark.usefixtures("default_limits")
async def test_wrong_codes_count_against_the_login_limits(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    secret, _ = await turn_on(client, normal_user)
    challenge = await challenge_of(client, normal_user)
    right = code_at(secret, current_step() + 1)
    wrong = "999999" if right != "999999" else "888888"
    for _ in range(10):
        assert (await code_step(client, challenge, wrong)).status_code == 400
    locked = await code_step(client, challenge, right)
    assert locked.status_code == 429
    assert locked.json()["detail"].startswith("Too many failed login attempts")


async def test_turning_off_takes_the_password_and_a_code(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    secret, codes = await turn_on(client, normal_user)
    url = f"{API}/users/me/2fa"

    async def disable(password: str, code: str) -> httpx.Response:
        return await client.request(
            "DELETE", url, headers=normal_user.headers, json={"password": password, "code": code}
        )

    wrong_password = await disable("not-the-password", codes[0])
    assert wrong_password.json() == {"detail": "Incorrect password"}
    wrong_code = await disable(normal_user.password, "not-a-code")
    assert wrong_code.json() == {"detail": "Invalid two-factor code"}
    done = await disable(normal_user.password, codes[0])
    assert done.json() == {"message": "Two-factor authentication turned off"}
    assert (await password_step(client, normal_user)).status_code == 200
    again = await disable(normal_user.password, code_at(secret, current_step() + 1))
    assert again.json() == {"detail": "Two-factor authentication is off"}
