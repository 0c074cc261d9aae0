"""Hostile input: text no store can hold, oversized bodies, numbers JSON cannot carry,
out-of-range offsets, loose booleans, and an OpenAPI document that tells the truth.

Each was a 500 (or an echo of the input) before; each is a clean 4xx now.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.api.main import api
from app.core.config import settings
from app.db.paging import MAX_SKIP
from app.models import UNSTORABLE_TEXT
from tests.conftest import Account

API = settings.API_V1_STR
NUL = "a\x00b"
LONE_SURROGATE = "a\ud800b"


def unstorable(response: httpx.Response, *loc: str | int) -> None:
    """A 422 naming the field, with the text rule's message, and no `input`."""
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    matching = [e for e in errors if tuple(e["loc"]) == loc]
    assert matching, errors
    assert matching[0] == {"loc": list(loc), "msg": UNSTORABLE_TEXT, "type": "unstorable_text"}


async def raw_json(
    client: httpx.AsyncClient, method: str, url: str, text: str, headers: dict[str, str]
) -> httpx.Response:
    """JSON as written (lone surrogates escaped, NaN as is), which httpx's json= refuses."""
    return await client.request(
        method, url, content=text, headers={**headers, "Content-Type": "application/json"}
    )


# NUL characters and lone surrogates -------------------------------------------------


async def test_nul_in_login_username_is_a_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/login/access-token", data={"username": NUL, "password": "whatever-password"}
    )
    unstorable(r, "body", "username")


async def test_nul_in_login_password_is_a_422(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/login/access-token", data={"username": normal_user.email, "password": NUL * 4}
    )
    unstorable(r, "body", "password")


async def test_nul_in_recovery_email_is_a_422(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/password-recovery/a%00b@example.com")
    unstorable(r, "path", "email")


async def test_nul_in_recovery_preview_email_is_a_422(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(
        f"{API}/password-recovery-html-content/a%00b@example.com", headers=superuser.headers
    )
    unstorable(r, "path", "email")


async def test_nul_in_signup_full_name_is_a_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/users/signup",
        json={"email": "nul@example.com", "password": "a-good-password", "full_name": NUL},
    )
    unstorable(r, "body", "full_name")


async def test_nul_in_signup_email_is_a_422_without_echo(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/users/signup", json={"email": "a\x00@example.com", "password": "a-good-password"}
    )
    unstorable(r, "body", "email")


@pytest.mark.parametrize("field", ["title", "description"])
async def test_nul_in_a_new_item_is_a_422(
    client: httpx.AsyncClient, normal_user: Account, field: str
) -> None:
    body = {"title": "Title", field: NUL}
    r = await client.post(f"{API}/items/", headers=normal_user.headers, json=body)
    unstorable(r, "body", field)


@pytest.mark.parametrize("field", ["title", "description"])
async def test_nul_in_an_item_update_is_a_422(
    client: httpx.AsyncClient, normal_user: Account, field: str
) -> None:
    created = await client.post(f"{API}/items/", headers=normal_user.headers, json={"title": "T"})
    r = await client.put(
        f"{API}/items/{created.json()['id']}", headers=normal_user.headers, json={field: NUL}
    )
    unstorable(r, "body", field)


async def test_nul_in_the_items_search_is_a_422(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/items/", headers=normal_user.headers, params={"q": NUL})
    unstorable(r, "query", "q")


async def test_nul_in_my_profile_is_a_422(client: httpx.AsyncClient, normal_user: Account) -> None:
    r = await client.patch(f"{API}/users/me", headers=normal_user.headers, json={"full_name": NUL})
    unstorable(r, "body", "full_name")


async def test_nul_in_an_admin_user_update_is_a_422(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"full_name": NUL}
    )
    unstorable(r, "body", "full_name")


async def test_nul_in_a_new_users_password_is_a_422(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(
        f"{API}/users/",
        headers=superuser.headers,
        json={"email": "new@example.com", "password": "password" + NUL},
    )
    unstorable(r, "body", "password")


async def test_nul_in_a_password_change_is_a_422(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.patch(
        f"{API}/users/me/password",
        headers=normal_user.headers,
        json={"current_password": normal_user.password, "new_password": "password" + NUL},
    )
    unstorable(r, "body", "new_password")


async def test_nul_in_a_reset_is_a_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/reset-password/", json={"token": NUL, "new_password": "a-good-password"}
    )
    unstorable(r, "body", "token")


async def test_nul_in_the_test_email_address_is_a_422(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(
        f"{API}/utils/test-email/", headers=superuser.headers, params={"email_to": NUL}
    )
    unstorable(r, "query", "email_to")


async def test_lone_surrogate_in_an_item_title_is_a_422(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    text = json.dumps({"title": LONE_SURROGATE})
    r = await raw_json(client, "POST", f"{API}/items/", text, normal_user.headers)
    unstorable(r, "body", "title")


async def test_lone_surrogate_in_signup_full_name_is_a_422(client: httpx.AsyncClient) -> None:
    text = json.dumps(
        {"email": "s@example.com", "password": "a-good-password", "full_name": LONE_SURROGATE}
    )
    r = await raw_json(client, "POST", f"{API}/users/signup", text, {})
    unstorable(r, "body", "full_name")


async def test_lone_surrogate_in_a_key_the_client_sent_comes_back_encodable(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    # An unknown key is ignored; a wrong-typed one is named in `loc` and must still encode.
    text = json.dumps({"title": 1, "\ud800": 2})
    r = await raw_json(client, "POST", f"{API}/items/", text, normal_user.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "title"]


async def test_text_with_tabs_newlines_and_emoji_is_still_stored(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    title = "Tab\there, line\nbreak, 🎉 and ünïcode"
    r = await client.post(f"{API}/items/", headers=normal_user.headers, json={"title": title})
    assert r.status_code == 200
    assert r.json()["title"] == title


# Request size and what a 422 says ------------------------------------------------------


async def test_a_body_over_the_limit_is_a_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    body = b'{"email": "big@example.com", "password": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = await client.post(
        f"{API}/users/signup", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json() == {"detail": "Content Too Large"}
    assert len(r.content) < 100


async def test_a_streamed_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit counts what arrives.
        for _ in range(2 * 1024):
            yield b" " * 1024

    r = await client.post(
        f"{API}/users/signup", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert r.json() == {"detail": "Content Too Large"}


async def test_a_body_over_the_limit_is_a_413_even_without_a_token(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        f"{API}/items/",
        content=b"x" * (settings.MAX_REQUEST_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413


async def test_a_body_at_the_limit_is_read(client: httpx.AsyncClient) -> None:
    padding = settings.MAX_REQUEST_BODY_BYTES - len('{"email": "", "password": "a-good-password"}')
    body = json.dumps({"email": "", "password": "a-good-password"}) + " " * padding
    assert len(body) == settings.MAX_REQUEST_BODY_BYTES
    r = await raw_json(client, "POST", f"{API}/users/signup", body, {})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "email"]


async def test_a_422_never_echoes_the_input(client: httpx.AsyncClient) -> None:
    secret = "my-secret-password-" + "x" * 200
    r = await client.post(
        f"{API}/users/signup", json={"email": "not-an-email", "password": secret * 1000}
    )
    assert r.status_code == 422
    assert secret not in r.text
    assert "not-an-email" not in r.text
    for error in r.json()["detail"]:
        assert set(error) == {"loc", "msg", "type"}


async def test_a_422_for_bad_json_keeps_its_shape(client: httpx.AsyncClient) -> None:
    r = await raw_json(client, "POST", f"{API}/users/signup", '{"email": ', {})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"loc": ["body", 10], "msg": "JSON decode error", "type": "json_invalid"}]
    }


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999999"])
async def test_non_finite_numbers_in_a_body_are_a_422(
    client: httpx.AsyncClient, normal_user: Account, number: str
) -> None:
    text = f'{{"title": {number}}}'
    r = await raw_json(client, "POST", f"{API}/items/", text, normal_user.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "title"]


async def test_non_finite_number_where_a_boolean_goes_is_a_422(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account
) -> None:
    text = '{"is_active": NaN}'
    r = await raw_json(client, "PATCH", f"{API}/users/{normal_user.id}", text, superuser.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "is_active"]


# Offsets the database takes ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/items/", "/users/"])
async def test_the_largest_skip_is_an_empty_page(
    client: httpx.AsyncClient, superuser: Account, path: str
) -> None:
    r = await client.get(f"{API}{path}", headers=superuser.headers, params={"skip": MAX_SKIP})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == []


@pytest.mark.parametrize("path", ["/items/", "/users/"])
@pytest.mark.parametrize("skip", [2**31, 2**62, 2**63])
async def test_a_skip_past_the_largest_is_a_422(
    client: httpx.AsyncClient, superuser: Account, path: str, skip: int
) -> None:
    r = await client.get(f"{API}{path}", headers=superuser.headers, params={"skip": skip})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "skip"]


# Booleans are booleans -----------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, "false", "true", "yes", "off", 0.0])
async def test_a_boolean_field_takes_only_true_or_false(
    client: httpx.AsyncClient, superuser: Account, normal_user: Account, value: str | float
) -> None:
    r = await client.patch(
        f"{API}/users/{normal_user.id}", headers=superuser.headers, json={"is_superuser": value}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0] == {
        "loc": ["body", "is_superuser"],
        "msg": "Input should be a valid boolean",
        "type": "bool_type",
    }


async def test_a_new_user_cannot_be_made_superuser_by_a_number(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(
        f"{API}/users/",
        headers=superuser.headers,
        json={"email": "strict@example.com", "password": "a-good-password", "is_superuser": 1},
    )
    assert r.status_code == 422


# The OpenAPI document ----------------------------------------------------------------------


def responses_of(schema: dict[str, Any], method: str, path: str) -> set[str]:
    return set(schema["paths"][f"{API}{path}"][method]["responses"])


# The answers each operation can give, from the contract; 503 wherever the database is used.
# The errors whose body says more than `detail`: the two-factor challenge of a login
# (password or sign-on), and the link offer of a sign-on (issue #25).
TWO_FACTOR_ANSWERS = {
    ("post", "/login/access-token", "401"): "TwoFactorChallenge",
    ("get", "/login/oidc/{provider}/callback", "401"): "TwoFactorChallenge",
    ("post", "/login/oidc/link", "401"): "TwoFactorChallenge",
    ("get", "/login/oidc/{provider}/callback", "409"): "OidcLinkRequired",
}
DECLARED = {
    # 401: the challenge of an account with two-factor on (issue #25), the one error
    # whose body says more than `detail` (TWO_FACTOR_ANSWERS).
    ("post", "/login/access-token"): {"200", "400", "401", "413", "422", "429", "503"},
    ("post", "/login/test-token"): {"200", "400", "401", "403", "404", "503"},
    ("post", "/password-recovery/{email}"): {"200", "422", "429", "503"},
    ("post", "/reset-password/"): {"200", "400", "413", "422", "503"},
    ("post", "/password-recovery-html-content/{email}"): {
        "200", "400", "401", "403", "404", "422", "503",
    },
    ("get", "/users/"): {"200", "400", "401", "403", "404", "422", "503"},
    ("post", "/users/"): {"200", "400", "401", "403", "404", "413", "422", "503"},
    ("get", "/users/me"): {"200", "400", "401", "403", "404", "503"},
    ("patch", "/users/me"): {"200", "400", "401", "403", "404", "409", "413", "422", "503"},
    ("delete", "/users/me"): {"200", "400", "401", "403", "404", "503"},
    ("patch", "/users/me/password"): {"200", "400", "401", "403", "404", "413", "422", "503"},
    ("post", "/users/signup"): {"200", "400", "413", "422", "429", "503"},
    ("get", "/users/{user_id}"): {"200", "400", "401", "403", "404", "422", "503"},
    ("patch", "/users/{user_id}"): {
        "200", "400", "401", "403", "404", "409", "413", "422", "503",
    },
    ("delete", "/users/{user_id}"): {"200", "400", "401", "403", "404", "422", "503"},
    ("get", "/items/"): {"200", "400", "401", "403", "404", "422", "503"},
    ("post", "/items/"): {"200", "400", "401", "403", "404", "413", "422", "503"},
    ("get", "/items/{id}"): {"200", "400", "401", "403", "404", "422", "503"},
    ("put", "/items/{id}"): {"200", "400", "401", "403", "404", "413", "422", "503"},
    ("delete", "/items/{id}"): {"200", "400", "401", "403", "404", "422", "503"},
    ("post", "/utils/test-email/"): {"201", "400", "401", "403", "404", "422", "429", "503"},
    ("get", "/utils/health-check/"): {"200"},
    ("post", "/private/users/"): {"200", "400", "413", "422", "503"},
}  # fmt: skip


async def test_openapi_declares_every_answer_with_the_error_schema(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get(f"{API}/openapi.json")).json()
    operations = {
        (method, path.removeprefix(API))
        for path, item in schema["paths"].items()
        for method in item
    }
    # The template's operations answer exactly what the contract says; a route added
    # since declares its own answers, each error with the same schema.
    assert set(DECLARED) <= operations
    for method, path in operations:
        statuses = responses_of(schema, method, path)
        if (method, path) in DECLARED:
            assert statuses == DECLARED[method, path], (method, path)
        # 302: a sign-on's redirects, which have no body.
        for status in statuses - {"200", "201", "302", "422"}:
            content = schema["paths"][f"{API}{path}"][method]["responses"][status]["content"]
            model = TWO_FACTOR_ANSWERS.get((method, path, status), "ErrorMessage")
            assert content["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{model}"
            }, (method, path, status)
    assert schema["components"]["schemas"]["ErrorMessage"]["properties"] == {
        "detail": {"title": "Detail", "type": "string"}
    }


async def test_openapi_says_text_has_no_nul(client: httpx.AsyncClient) -> None:
    schema = (await client.get(f"{API}/openapi.json")).json()["components"]["schemas"]
    assert schema["ItemCreate"]["properties"]["title"]["pattern"] == "^[^\\x00]*$"


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "BREW"])
async def test_any_unsupported_method_is_a_405(client: httpx.AsyncClient, method: str) -> None:
    r = await client.request(method, f"{API}/items/")
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}


async def test_every_operation_keeps_its_operation_id() -> None:
    ids = [
        operation["operationId"]
        for item in api.openapi()["paths"].values()
        for operation in item.values()
    ]
    assert {"login-login_access_token", "items-create_item", "users-read_users"} <= set(ids)
    # One id per operation: a generated client names a method after each.
    assert len(set(ids)) == len(ids) >= len(DECLARED)


async def test_an_account_is_still_readable(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json()["is_superuser"] is False
