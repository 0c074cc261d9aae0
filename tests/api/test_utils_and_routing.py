"""Utils and private routes, routing edge cases, ids in paths, OpenAPI and the docs page."""

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.main import api, create_api
from app.core.config import settings
from app.emails import EmailMessage
from app.models import User
from tests.conftest import Account, make_account
from tests.factories import create_item, random_email, random_lower_string

API = settings.API_V1_STR
NOT_FOUND = {"detail": "Not Found"}
HUGE_ID = "99999999999999999999"
MISSING_IDS = [HUGE_ID, "-1", "0", str(2**31), str(2**63), "-99999999999999999999"]
ITEM_ID_ROUTES = [("GET", None), ("PUT", {"title": "X"}), ("DELETE", None)]
NON_INTEGER_IDS = ["abc", "1.5", "1e3", "0x10", "8c9a7b8e-6a7c-4c5e-9a0f-3c2b1d4e5f60"]


@pytest.fixture
def sent_test_emails(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, EmailMessage]]:
    sent: list[tuple[str, EmailMessage]] = []
    monkeypatch.setattr(
        "app.services.mailing.schedule_email", lambda to, message: sent.append((to, message))
    )
    return sent


# Health check -----------------------------------------------------------------------


async def test_health_check_answers_true_without_auth(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/utils/health-check/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() is True


# Test email -------------------------------------------------------------------------


async def test_superuser_sends_a_test_email(
    client: httpx.AsyncClient, superuser: Account, sent_test_emails: list[tuple[str, EmailMessage]]
) -> None:
    email = random_email()
    r = await client.post(
        f"{API}/utils/test-email/", headers=superuser.headers, params={"email_to": email}
    )
    assert r.status_code == 201
    assert r.json() == {"message": "Test email sent"}
    assert len(sent_test_emails) == 1
    to, message = sent_test_emails[0]
    assert to == email
    assert message.subject == f"{settings.PROJECT_NAME} - Test email"


async def test_test_email_with_the_console_backend_succeeds(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(
        f"{API}/utils/test-email/", headers=superuser.headers, params={"email_to": random_email()}
    )
    assert r.status_code == 201


async def test_normal_user_cannot_send_a_test_email(
    client: httpx.AsyncClient,
    normal_user: Account,
    sent_test_emails: list[tuple[str, EmailMessage]],
) -> None:
    r = await client.post(
        f"{API}/utils/test-email/", headers=normal_user.headers, params={"email_to": random_email()}
    )
    assert r.status_code == 403
    assert r.json() == {"detail": "The user doesn't have enough privileges"}
    assert sent_test_emails == []


@pytest.mark.parametrize("params", [{"email_to": "not-an-email"}, {"email_to": ""}, {}])
async def test_test_email_needs_a_valid_address(
    client: httpx.AsyncClient,
    superuser: Account,
    sent_test_emails: list[tuple[str, EmailMessage]],
    params: dict[str, Any],
) -> None:
    r = await client.post(f"{API}/utils/test-email/", headers=superuser.headers, params=params)
    assert r.status_code == 422
    assert sent_test_emails == []


async def test_test_email_address_in_the_body_is_not_accepted(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.post(
        f"{API}/utils/test-email/", headers=superuser.headers, json={"email_to": random_email()}
    )
    assert r.status_code == 422


# Private users route ----------------------------------------------------------------


async def test_private_route_creates_an_active_normal_user(client: httpx.AsyncClient) -> None:
    email, password = random_email(), random_lower_string()
    r = await client.post(
        f"{API}/private/users/",
        json={"email": email, "password": password, "full_name": "Seeded", "is_verified": True},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["email"] == email
    assert body["full_name"] == "Seeded"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    login = await client.post(
        f"{API}/login/access-token", data={"username": email, "password": password}
    )
    assert login.status_code == 200


async def test_private_route_with_taken_email_is_400(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(
        f"{API}/private/users/",
        json={"email": normal_user.email, "password": random_lower_string(), "full_name": "X"},
    )
    assert r.status_code == 400
    assert r.json() == {"detail": "The user with this email already exists in the system"}


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "not-an-email", "password": "some-password"},
        {"email": "someone@example.com", "password": "short"},
        {"password": "some-password"},
    ],
)
async def test_private_route_validates_its_body(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    r = await client.post(f"{API}/private/users/", json=payload)
    assert r.status_code == 422


@pytest.mark.parametrize("environment", ["staging", "production"])
async def test_private_route_is_absent_outside_local(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setattr(settings, "ENVIRONMENT", environment)
    api = create_api()
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.post(
            f"{API}/private/users/",
            json={"email": random_email(), "password": random_lower_string()},
        )
        schema = (await client.get(f"{API}/openapi.json")).json()
    assert r.status_code == 404
    assert r.json() == NOT_FOUND
    assert f"{API}/private/users/" not in schema["paths"]


# Unknown paths, wrong methods, missing slashes --------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path", ["/no-such-route", "/items/1/extra", "/users/me/nothing", "/login", "/utils/"]
)
async def test_unknown_api_path_is_json_404(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await client.request(method, f"{API}{path}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json() == NOT_FOUND


async def test_unknown_api_path_is_json_404_even_with_a_token(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/no-such-route", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/utils/health-check/", {"GET"}),
        ("GET", "/utils/test-email/", {"POST"}),
        ("PUT", "/users/", {"GET", "POST"}),
        ("POST", "/users/me", {"GET", "PATCH", "DELETE"}),
        ("POST", "/items/1", {"GET", "PUT", "DELETE"}),
        ("PATCH", "/items/", {"GET", "POST"}),
        ("GET", "/login/access-token", {"POST"}),
        ("GET", "/reset-password/", {"POST"}),
        # Also matched by /users/{user_id}; the path declared first answers, as in Starlette.
        ("OPTIONS", "/users/signup", {"POST"}),
    ],
)
async def test_wrong_method_on_known_path_is_json_405(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    r = await client.request(method, f"{API}{path}")
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed


@pytest.mark.parametrize(
    ("method", "path", "target"),
    [
        ("GET", "/items", "/items/"),
        ("POST", "/items", "/items/"),
        ("GET", "/users", "/users/"),
        ("GET", "/utils/health-check", "/utils/health-check/"),
        ("POST", "/reset-password", "/reset-password/"),
        ("POST", "/private/users", "/private/users/"),
        ("GET", "/users/me/", "/users/me"),
        ("POST", "/users/signup/", "/users/signup"),
        ("POST", "/login/access-token/", "/login/access-token"),
        ("GET", "/items/1/", "/items/1"),
    ],
)
async def test_path_with_wrong_trailing_slash_redirects_307(
    client: httpx.AsyncClient, method: str, path: str, target: str
) -> None:
    r = await client.request(method, f"{API}{path}")
    assert r.status_code == 307
    assert r.headers["location"] == f"http://test{API}{target}"


async def test_redirect_keeps_the_query_string(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/items", params={"skip": 1, "limit": 2})
    assert r.status_code == 307
    assert r.headers["location"] == f"http://test{API}/items/?skip=1&limit=2"


async def test_following_the_redirect_reaches_the_route(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/items", headers=normal_user.headers, follow_redirects=True)
    assert r.status_code == 200
    assert r.json() == {"data": [], "count": 0}


# Ids in paths -----------------------------------------------------------------------


@pytest.mark.parametrize("item_id", NON_INTEGER_IDS)
@pytest.mark.parametrize(("method", "body"), ITEM_ID_ROUTES)
async def test_non_integer_item_id_is_422(
    client: httpx.AsyncClient,
    normal_user: Account,
    method: str,
    body: dict[str, Any] | None,
    item_id: str,
) -> None:
    r = await client.request(
        method, f"{API}/items/{item_id}", headers=normal_user.headers, json=body
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "id"]


@pytest.mark.parametrize("user_id", NON_INTEGER_IDS)
@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"full_name": "X"}), ("DELETE", None)]
)
async def test_non_integer_user_id_is_422(
    client: httpx.AsyncClient,
    superuser: Account,
    method: str,
    body: dict[str, Any] | None,
    user_id: str,
) -> None:
    r = await client.request(method, f"{API}/users/{user_id}", headers=superuser.headers, json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "user_id"]


@pytest.mark.parametrize("item_id", MISSING_IDS)
@pytest.mark.parametrize(("method", "body"), ITEM_ID_ROUTES)
async def test_item_id_naming_no_row_is_404(
    client: httpx.AsyncClient,
    superuser: Account,
    method: str,
    body: dict[str, Any] | None,
    item_id: str,
) -> None:
    r = await client.request(method, f"{API}/items/{item_id}", headers=superuser.headers, json=body)
    assert r.status_code == 404
    assert r.json() == {"detail": "Item not found"}


@pytest.mark.parametrize("item_id", MISSING_IDS)
async def test_item_id_naming_no_row_is_404_for_normal_user(
    client: httpx.AsyncClient, normal_user: Account, item_id: str
) -> None:
    r = await client.get(f"{API}/items/{item_id}", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == {"detail": "Item not found"}


@pytest.mark.parametrize("user_id", MISSING_IDS)
@pytest.mark.parametrize(
    ("method", "body", "detail"),
    [
        ("GET", None, "User not found"),
        ("PATCH", {"full_name": "X"}, "The user with this id does not exist in the system"),
        ("DELETE", None, "User not found"),
    ],
)
async def test_user_id_naming_no_row_is_404_for_superuser(
    client: httpx.AsyncClient,
    superuser: Account,
    method: str,
    body: dict[str, Any] | None,
    detail: str,
    user_id: str,
) -> None:
    r = await client.request(method, f"{API}/users/{user_id}", headers=superuser.headers, json=body)
    assert r.status_code == 404
    assert r.json() == {"detail": detail}


@pytest.mark.parametrize("user_id", MISSING_IDS)
async def test_user_id_naming_no_row_is_403_for_normal_user(
    client: httpx.AsyncClient, normal_user: Account, user_id: str
) -> None:
    r = await client.get(f"{API}/users/{user_id}", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == {"detail": "The user doesn't have enough privileges"}


async def test_existing_ids_still_resolve_next_to_missing_ones(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account
) -> None:
    account = await make_account(client, session)
    user = await session.get(User, account.id)
    assert user is not None
    item = await create_item(session, user)
    assert (await client.get(f"{API}/items/{item.id}", headers=superuser.headers)).is_success
    assert (await client.get(f"{API}/users/{account.id}", headers=superuser.headers)).is_success


# OpenAPI and docs -------------------------------------------------------------------

OPERATION_IDS = {
    ("post", "/login/access-token"): "login-login_access_token",
    ("post", "/login/test-token"): "login-test_token",
    ("post", "/password-recovery/{email}"): "login-recover_password",
    ("post", "/reset-password/"): "login-reset_password",
    ("post", "/password-recovery-html-content/{email}"): "login-recover_password_html_content",
    ("get", "/users/"): "users-read_users",
    ("post", "/users/"): "users-create_user",
    ("get", "/users/me"): "users-read_user_me",
    ("patch", "/users/me"): "users-update_user_me",
    ("delete", "/users/me"): "users-delete_user_me",
    ("patch", "/users/me/password"): "users-update_password_me",
    ("post", "/users/signup"): "users-register_user",
    ("get", "/users/{user_id}"): "users-read_user_by_id",
    ("patch", "/users/{user_id}"): "users-update_user",
    ("delete", "/users/{user_id}"): "users-delete_user",
    ("get", "/items/"): "items-read_items",
    ("post", "/items/"): "items-create_item",
    ("get", "/items/{id}"): "items-read_item",
    ("put", "/items/{id}"): "items-update_item",
    ("delete", "/items/{id}"): "items-delete_item",
    ("post", "/utils/test-email/"): "utils-test_email",
    ("get", "/utils/health-check/"): "utils-health_check",
    ("post", "/private/users/"): "private-create_user",
}


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get(f"{API}/openapi.json")
    assert r.status_code == 200
    document: dict[str, Any] = r.json()
    return document


async def test_openapi_title_is_the_project_name(openapi: dict[str, Any]) -> None:
    assert openapi["info"]["title"] == settings.PROJECT_NAME


async def test_openapi_operation_ids_follow_tag_and_function(openapi: dict[str, Any]) -> None:
    found = {
        (method, path.removeprefix(API)): operation["operationId"]
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
    }
    # The template's operations keep its ids; a route added since follows the same rule.
    assert {key: found.get(key) for key in OPERATION_IDS} == OPERATION_IDS
    for route in api.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            assert route.methods is not None, route.path
            for method in route.methods:
                key = (method.lower(), route.path_format.removeprefix(API))
                assert found[key] == f"{route.tags[0]}-{route.name}", key


async def test_openapi_operations_are_tagged_by_their_router(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        for operation in operations.values():
            tag = operation["operationId"].split("-")[0]
            assert operation["tags"] == [tag], path


async def test_openapi_hides_the_catch_all_route(openapi: dict[str, Any]) -> None:
    assert not any("unmatched" in path for path in openapi["paths"])


async def test_openapi_declares_the_oauth2_password_flow(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    flow = schemes["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == f"{API}/login/access-token"


async def test_swagger_ui_is_served_at_api_docs(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in r.text
    assert f"{API}/openapi.json" in r.text
