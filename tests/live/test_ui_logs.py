"""A hostile tab against a backend that logs JSON: every line it causes stays one JSON
record, short, and said once per connection; nothing it sends can end a line early or
forge a record."""

import asyncio
import json
from collections.abc import Iterator

import pytest
from reflex_base.utils.form import FORM_DATA_ENTRIES_KEY

from app.models import UNSTORABLE_TEXT
from app.ui.state.failures import LOGIN_ROUTE
from app.ui.state.items import ItemsState
from app.ui.state.public import LoginState, SignupState
from app.ui.state.validation import INVALID_EMAIL, PASSWORD_TOO_SHORT
from tests.conftest import Account
from tests.live.conftest import FAULT_TITLE, FAULTS, LiveBackend, run_own_backend
from tests.live.reflex_tab import ADMIN, VISIBILITY, Tab

ITEMS = ItemsState.get_full_name()
pytestmark = pytest.mark.live
FORGED = '{"level": "CRITICAL", "message": "forged"}'


@pytest.fixture(scope="module")
def json_backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    yield from run_own_backend(database, tmp_path_factory, "json-logs", LOG_FORMAT="json", **FAULTS)


def lines_since(backend: LiveBackend, offset: int) -> list[str]:
    with backend.log.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace").splitlines()


async def test_bad_events_are_one_short_json_line_per_connection(json_backend: LiveBackend) -> None:
    offset = json_backend.log.stat().st_size
    tab = Tab(json_backend.url)
    await tab.open(LOGIN_ROUTE)
    for _ in range(3):
        # An argument name that ends the line and starts a record of its own.
        await tab.send(f"{VISIBILITY}.toggle", {f"field_id\n{FORGED}": "x"}, LOGIN_ROUTE)
        # A value of the wrong type, a missing argument, a payload that is no object.
        await tab.send(f"{VISIBILITY}.toggle", {"field_id": 5}, LOGIN_ROUTE)
        await tab.send(f"{VISIBILITY}.toggle", {}, LOGIN_ROUTE)
        await tab.send(f"{ITEMS}.search_rows", {"text": ["a"] * 500}, "/items")
    assert tab.client is not None
    await tab.client.emit("event", "not an event", "/api/_event")
    await asyncio.sleep(1)
    await tab.close()
    lines = lines_since(json_backend, offset)
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert not [r for r in records if r.get("message") == "forged"]
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")], lines
    refused = [r for r in records if r["message"].startswith("Dropped an event")]
    assert len(refused) == 1, refused
    assert len(refused[0]["message"]) < 300
    assert "Traceback" not in "\n".join(lines)


async def test_a_nul_in_the_search_box_is_the_apis_message(
    json_backend: LiveBackend, normal_user: Account
) -> None:
    offset = json_backend.log.stat().st_size
    tab = Tab(json_backend.url)
    await tab.open("/items", normal_user.token)
    await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    await tab.send(f"{ITEMS}.search_rows", {"text": "a\x00b"}, "/items")
    await asyncio.sleep(0.5)
    await tab.close()
    # The message the API's 422 gives for `q`, as the tab's toast; no database error.
    assert UNSTORABLE_TEXT in tab.text()
    records = [json.loads(line) for line in lines_since(json_backend, offset)]
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    assert [r["outcome"] for r in records if r.get("handler") == "ItemsState.search_rows"] == [
        "refused"
    ]


async def test_a_handler_bug_is_one_json_record_with_its_traceback(
    json_backend: LiveBackend, normal_user: Account
) -> None:
    offset = json_backend.log.stat().st_size
    tab = Tab(json_backend.url)
    await tab.open("/items", normal_user.token)
    await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    # A bug in the service (injected), and a line of its own in the form's text.
    form = {"title": FAULT_TITLE, f"x\n{FORGED}": "y"}
    await tab.send(f"{ITEMS}.create", {"form": form}, "/items")
    await asyncio.sleep(1)
    await tab.close()
    lines = lines_since(json_backend, offset)
    records = [json.loads(line) for line in lines]
    failed = [r for r in records if r["message"].startswith("A UI event failed")]
    assert len(failed) == 1, lines
    assert "RuntimeError" in failed[0]["message"] and "Traceback" in failed[0]["exception"]
    assert not [r for r in records if r.get("message") == "forged"]
    assert "[Reflex Backend Exception]" not in "\n".join(lines)


async def test_a_form_with_values_no_browser_sends_gets_the_fields_messages(
    json_backend: LiveBackend, superuser: Account
) -> None:
    """Numbers, lists and nulls where a form has text (and a field left out) are empty
    fields with their own messages, not bugs."""
    offset = json_backend.log.stat().st_size
    login, signup = LoginState.get_full_name(), SignupState.get_full_name()
    public = Tab(json_backend.url)
    admin = Tab(json_backend.url)
    try:
        await public.open(LOGIN_ROUTE)
        await public.send(f"{login}.log_in", {"form": {"email": 5, "password": None}}, LOGIN_ROUTE)
        await public.wait_for(login, "email_error", lambda error: error == INVALID_EMAIL)
        # The shape the browser's forms take: their [name, value] entries.
        entries = {FORM_DATA_ENTRIES_KEY: [["email", 5], ["password", "x"], ["full_name"], 7]}
        await public.send(f"{login}.log_in", {"form": entries}, LOGIN_ROUTE)
        await public.wait_for(login, "password_error", lambda error: error == PASSWORD_TOO_SHORT)
        await public.send(
            f"{signup}.sign_up", {"form": {"email": ["a@b.co"], "full_name": {}}}, "/signup"
        )
        await public.wait_for(signup, "email_error", lambda error: error == INVALID_EMAIL)
        await admin.open("/admin", superuser.token)
        await admin.wait_for(ADMIN, "loaded", bool)
        await admin.send(f"{ADMIN}.create", {"form": {"email": 1.5, "password": True}}, "/admin")
        await admin.wait_for(ADMIN, "email_error", lambda error: error == INVALID_EMAIL)
        await admin.send(f"{ADMIN}.update", {"form": {"is_active": "on"}}, "/admin")
        await asyncio.sleep(1)
    finally:
        await public.close()
        await admin.close()
    records = [json.loads(line) for line in lines_since(json_backend, offset)]
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")], records
    outcomes = {r["handler"]: r["outcome"] for r in records if "handler" in r}
    handlers = ["LoginState.log_in", "SignupState.sign_up", "AdminState.create"]
    handlers.append("AdminState.update")
    assert {handler: outcomes.get(handler) for handler in handlers} == dict.fromkeys(handlers, "ok")
    assert "A UI event failed" not in str(records)
