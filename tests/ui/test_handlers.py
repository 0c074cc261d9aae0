"""UI state handlers without a browser: token checks, paging, failures and the rules' reach.

States are built as Reflex's own tests build them (`_reflex_internal_init`), inside a
root state so inherited vars (the token, the user) resolve as they do in the app.
"""

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
import pytest
import reflex as rx
from pydantic import ValidationError
from reflex.event import EventHandler, EventSpec
from reflex.istate.data import ReflexURL, RouterData
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.core.config import settings
from app.db import create_async_engine
from app.models import (
    PASSWORD_MIN_LENGTH,
    UNSTORABLE_TEXT,
    Item,
    ItemCreate,
    User,
    UserRegister,
)
from app.services import auth, messages, users
from app.services.errors import InvalidCredentials, NotFound
from app.services.sessions import Caller
from app.ui.state import sessions as sessions_state
from app.ui.state import validation
from app.ui.state.admin import AdminState, ticked
from app.ui.state.auth import AuthState, SignedInUser, initials
from app.ui.state.failures import (
    DATABASE_UNAVAILABLE,
    AccessDenied,
    SessionExpired,
    failure_events,
    reports_failures,
)
from app.ui.state.items import ItemsState
from app.ui.state.public import LoginState, ResetPasswordState
from app.ui.state.sessions import SessionsState
from app.ui.state.settings import DeleteAccountState, PasswordState, ProfileState
from app.ui.table.entity import EntityRow
from app.ui.table.paging import clamp_page, page_count, parse_page_size
from devtools.servers import free_port
from tests.conftest import Account, login_headers
from tests.factories import create_item

S = TypeVar("S", bound=AuthState)


def make_state(state_class: type[S], token: str = "") -> S:
    # Reflex's flag for a state the framework builds (the test stands in for its state
    # manager); mypy sees State's fields-only __init__ (as a model), which lacks it.
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    state = root.get_substate(state_class.get_full_name().split(".")[1:])
    assert isinstance(state, state_class)
    state.access_token = token
    return state


def signed_in(state_class: type[S], account: Account) -> S:
    return make_state(state_class, account.token)


def at_address(state: rx.State, address: str) -> None:
    """Put the tab at `address`, as the browser reports it when a page loads."""
    state.router = RouterData(url=ReflexURL(f"http://localhost:3000{address}"))


def text(events: Any) -> str:
    """What the events would do in the browser, as one string to search."""
    if events is None:
        return ""
    if isinstance(events, EventSpec):
        return " ".join(str(name) + "=" + str(value) for name, value in events.args)
    return " | ".join(text(event) for event in events)


async def run(handler: Any, state: rx.State, *args: Any) -> str:
    """Run a handler to the end, as Reflex does; the events it sent, as text."""
    sent = [events async for events in handler.fn(state, *args)]
    return text([event for event in sent if event is not None])


async def db_user(session: AsyncSession, account: Account) -> User:
    user = await users.get_user(session, account.id)
    assert user is not None
    return user


# Client-side checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("user@example.com", ""),
        ("  user@example.com ", ""),
        ("invalidemail", validation.INVALID_EMAIL),
        ("user@domain", validation.INVALID_EMAIL),
        ("", validation.INVALID_EMAIL),
    ],
)
def test_email_check(value: str, message: str) -> None:
    assert validation.email_error(value) == message


def test_password_checks() -> None:
    assert validation.password_error("") == validation.PASSWORD_REQUIRED
    assert validation.password_error("seven77") == validation.PASSWORD_TOO_SHORT
    assert validation.password_error("eight888") == ""
    assert validation.optional_password_error("") == ""
    assert validation.optional_password_error("short") == validation.PASSWORD_TOO_SHORT
    missing = validation.CONFIRMATION_REQUIRED
    assert validation.confirmation_error("password1", "", missing) == missing
    assert validation.confirmation_error("password1", "password2", missing) == (
        validation.PASSWORDS_DIFFER
    )
    assert validation.confirmation_error("password1", "password1", missing) == ""


@pytest.mark.parametrize("length", [PASSWORD_MIN_LENGTH - 1, PASSWORD_MIN_LENGTH])
def test_the_forms_password_check_is_the_models(length: int) -> None:
    password = "p" * length
    try:
        UserRegister(email="user@example.com", password=password)
        refused = ""
    except ValidationError:
        refused = validation.PASSWORD_TOO_SHORT
    assert validation.password_error(password) == refused


@pytest.mark.parametrize("text", ["nul\x00inside", "lone\ud800surrogate"])
def test_unstorable_text_is_a_field_error_with_the_apis_message(text: str) -> None:
    # The same rule, and so the same message, as the API's 422.
    assert validation.text_error(text) == UNSTORABLE_TEXT
    assert validation.required_error(text, validation.TITLE_REQUIRED) == UNSTORABLE_TEXT
    assert validation.password_error(text * 2) == UNSTORABLE_TEXT
    assert validation.email_error(text + "@example.com") == validation.INVALID_EMAIL
    assert validation.text_error("tab\tnewline\n🎉") == ""


def test_initials_fall_back_to_the_email() -> None:
    assert initials("Ada Lovelace King", "ada@example.com") == "AL"
    assert initials("", "zoe@example.com") == "Z"
    assert initials("  ", "") == ""


def test_checkbox_values_from_form_data() -> None:
    assert ticked({"is_active": "on"}, "is_active")
    assert not ticked({}, "is_active")
    assert not ticked({"is_active": ""}, "is_active")


# Paging ------------------------------------------------------------------------------


def test_paging_arithmetic() -> None:
    assert page_count(0, 10) == 1
    assert page_count(123, 10) == 13
    assert clamp_page(99, 123, 10) == 13
    assert clamp_page(0, 123, 10) == 1
    assert parse_page_size("25") == 25
    assert parse_page_size("7") == 10
    assert parse_page_size("many") == 10


def test_pager_vars_describe_the_window() -> None:
    state = make_state(ItemsState)
    state.total, state.page = 123, 13
    assert (state.first_row, state.last_row, state.page_count) == (121, 123, 13)
    assert state.on_last_page and not state.on_first_page and state.shows_pager
    state.total, state.page = 0, 1
    assert (state.first_row, state.last_row) == (0, 0)
    assert not state.shows_pager


# How failures reach the user ---------------------------------------------------------


async def test_expired_session_clears_the_token_and_goes_to_login() -> None:
    state = make_state(AuthState, "some-token")
    state.user = SignedInUser(id=3, email="a@example.com")
    events = text(await failure_events(state, SessionExpired()))
    assert '"/login"' in events and '"access_token"' in events
    assert state.access_token == "" and not state.signed_in


async def test_failures_become_toasts_with_the_services_detail() -> None:
    state = make_state(AuthState)
    assert "Item not found" in text(await failure_events(state, NotFound("Item not found")))
    denied = text(await failure_events(state, AccessDenied(messages.NOT_ENOUGH_PRIVILEGES)))
    assert "doesn't have enough privileges" in denied and 'path="/"' in denied
    with pytest.raises(ValidationError) as invalid:
        ItemCreate(title="")
    assert "at least 1 character" in text(await failure_events(state, invalid.value))
    database_down = OperationalError("SELECT 1", {}, Exception("connection refused"))
    assert DATABASE_UNAVAILABLE in text(await failure_events(state, database_down))
    with pytest.raises(KeyError):
        await failure_events(state, KeyError("a bug"))


class Flagged(AuthState):
    busy: bool = False

    @reports_failures(busy="busy")
    async def works(self) -> AsyncIterator[Any]:
        assert self.busy
        yield rx.toast.info("working")

    @reports_failures(busy="busy")
    async def answers(self) -> Any:
        assert self.busy
        return rx.toast.info("done")

    @reports_failures(busy="busy")
    async def breaks_a_rule(self) -> Any:
        raise NotFound("Gone")

    @reports_failures(busy="busy")
    async def has_a_bug(self) -> Any:
        raise RuntimeError("bug")


async def test_busy_flag_is_sent_first_and_always_cleared() -> None:
    state = make_state(Flagged)
    # The class turns the decorated method into the EventHandler that Reflex runs.
    handler = Flagged.works
    assert isinstance(handler, EventHandler)
    steps = handler.fn(state)
    assert await anext(steps) is None and state.busy
    assert "working" in text(await anext(steps))
    assert await anext(steps) is None and not state.busy
    with pytest.raises(StopAsyncIteration):
        await anext(steps)

    # A coroutine's result goes out in the same update that clears the flag.
    steps = Flagged.answers.fn(state)
    assert await anext(steps) is None and state.busy
    assert "done" in text(await anext(steps)) and not state.busy

    assert "Gone" in await run(Flagged.breaks_a_rule, state)
    assert not state.busy
    # A bug: the cleared flag is sent before Reflex reports the error.
    steps = Flagged.has_a_bug.fn(state)
    assert await anext(steps) is None and state.busy
    assert await anext(steps) is None and not state.busy
    with pytest.raises(RuntimeError):
        await anext(steps)


# The token -----------------------------------------------------------------------------


async def test_current_user_comes_from_a_valid_token(normal_user: Account) -> None:
    state = signed_in(AuthState, normal_user)
    user = await state._current_user()
    assert user.id == normal_user.id
    assert state.user.email == normal_user.email and state.signed_in


@pytest.mark.parametrize("token", ["", "not-a-jwt"])
async def test_missing_or_malformed_token_is_an_expired_session(token: str) -> None:
    with pytest.raises(SessionExpired):
        await make_state(AuthState, token)._current_user()


async def test_token_of_a_deactivated_user_is_refused(
    session: AsyncSession, normal_user: Account
) -> None:
    user = await db_user(session, normal_user)
    user.is_active = False
    session.add(user)
    await session.commit()
    with pytest.raises(SessionExpired):
        await signed_in(AuthState, normal_user)._current_user()


async def test_log_in_stores_a_token_the_api_accepts(normal_user: Account) -> None:
    state = make_state(LoginState)
    form = {"email": normal_user.email, "password": normal_user.password}
    assert '"/"' in await run(LoginState.log_in, state, form)
    assert (await auth.user_from_access_token(state.access_token)).id == normal_user.id


async def test_log_in_checks_the_form_before_asking(normal_user: Account) -> None:
    state = make_state(LoginState)
    assert await run(LoginState.log_in, state, {"email": "nope", "password": "x"}) == ""
    assert state.email_error == validation.INVALID_EMAIL
    assert state.password_error == validation.PASSWORD_TOO_SHORT
    wrong = {"email": normal_user.email, "password": "wrong-password"}
    assert messages.INCORRECT_LOGIN in await run(LoginState.log_in, state, wrong)
    assert state.access_token == ""


async def test_public_pages_send_a_live_session_home(normal_user: Account) -> None:
    assert 'path="/"' in await run(
        AuthState.redirect_if_signed_in, signed_in(AuthState, normal_user)
    )


async def test_public_pages_drop_a_dead_token_once() -> None:
    state = make_state(AuthState, "not-a-jwt")
    assert '"access_token"' in await run(AuthState.redirect_if_signed_in, state)
    # Removing the key re-hydrates the page: with nothing stored, nothing more is sent.
    assert await run(AuthState.redirect_if_signed_in, state) == ""


async def test_reset_link_opened_while_signed_in_goes_home(normal_user: Account) -> None:
    state = signed_in(ResetPasswordState, normal_user)
    # A recovery email's link, followed in a browser that already has a session.
    at_address(state, "/reset-password?token=some-reset-token")
    events = await run(ResetPasswordState.open_form, state)
    assert 'path="/"' in events and '"/login"' not in events
    assert state.access_token


async def test_log_out_forgets_the_session() -> None:
    state = make_state(AuthState, "token")
    state.user = SignedInUser(id=1)
    assert '"/login"' in text(await AuthState.log_out.fn(state))
    assert state.access_token == "" and not state.signed_in


# Items ------------------------------------------------------------------------------


async def test_items_page_lists_only_the_callers_items(
    session: AsyncSession, normal_user: Account, other_user: Account, superuser: Account
) -> None:
    await create_item(session, await db_user(session, normal_user), "mine")
    await create_item(session, await db_user(session, other_user), "theirs")
    state = signed_in(ItemsState, normal_user)
    await run(ItemsState.open_page, state)
    assert [row.cells["title"] for row in state.rows] == ["mine"]
    assert state.loaded and not state.loading
    admin_view = signed_in(ItemsState, superuser)
    await run(ItemsState.open_page, admin_view)
    assert admin_view.total == 2


async def items_on_page(
    session: AsyncSession, account: Account, count: int, page: int
) -> tuple[User, ItemsState]:
    """`account` with items "item 0" (oldest) to "item <count - 1>", showing `page`."""
    owner = await db_user(session, account)
    for number in range(count):
        await create_item(session, owner, f"item {number}")
    state = signed_in(ItemsState, account)
    await run(ItemsState.open_page, state)
    await run(ItemsState.load_page, state, page)
    return owner, state


async def test_a_page_past_the_end_shows_the_last_one(
    session: AsyncSession, normal_user: Account
) -> None:
    _, state = await items_on_page(session, normal_user, 25, 3)
    assert (state.page, state.total, len(state.rows)) == (3, 25, 5)
    # Rows deleted elsewhere (another tab, the API): page 3 no longer exists, but this
    # tab still counts 25 rows, so asking for page 3 again gets past the handler's own
    # clamp and only the fetch can find out that the page is gone.
    for item in (await session.exec(select(Item).limit(10))).all():
        await session.delete(item)
    await session.commit()
    await run(ItemsState.load_page, state, 3)
    # The last page that still exists, not the first one, and its rows, not none.
    assert (state.page, state.total, len(state.rows)) == (2, 15, 5)


async def test_next_and_previous_continue_from_the_rows_on_show(
    session: AsyncSession, normal_user: Account
) -> None:
    owner, state = await items_on_page(session, normal_user, 35, 2)
    second = [row.cells["title"] for row in state.rows]
    # A new item (another tab, the API) pushes every row one place down the list.
    await create_item(session, owner, "newer")
    await run(ItemsState.load_page, state, 3)
    # The rows after the last one on show, not page 3 counted afresh (which would
    # repeat that row at the top).
    assert state.page == 3 and state.total == 36
    assert [row.cells["title"] for row in state.rows] == [f"item {n}" for n in range(14, 4, -1)]
    await run(ItemsState.load_page, state, 2)
    assert [row.cells["title"] for row in state.rows] == second
    # The first page is the newest rows, by number.
    await run(ItemsState.load_page, state, 1)
    assert state.rows[0].cells["title"] == "newer"


async def test_a_next_page_emptied_meanwhile_is_found_by_number(
    session: AsyncSession, normal_user: Account
) -> None:
    owner, state = await items_on_page(session, normal_user, 35, 2)
    # Elsewhere, the 10 oldest and the 5 newest go: 20 rows, two pages.
    for item in (await session.exec(select(Item))).all():
        if int(item.title.split()[1]) < 10 or int(item.title.split()[1]) >= 30:
            await session.delete(item)
    await session.commit()
    await run(ItemsState.load_page, state, 3)
    # Not a short "page 3 of 2": the last page there is, by number.
    assert (state.page, state.total) == (2, 20)
    assert [row.cells["title"] for row in state.rows] == [f"item {n}" for n in range(19, 9, -1)]


async def test_a_page_change_that_failed_steers_no_later_load(
    monkeypatch: pytest.MonkeyPatch, session: AsyncSession, normal_user: Account
) -> None:
    _, state = await items_on_page(session, normal_user, 35, 2)

    async def database_down(_: str) -> Caller:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    with monkeypatch.context() as patched:
        # The caller's lookup fails: the handler stops before reading any row.
        patched.setattr(auth, "caller_from_access_token", database_down)
        assert DATABASE_UNAVAILABLE in await run(ItemsState.load_page, state, 3)
    # Ten rows a page, then page 3 of five-row pages: counted from the top, not the
    # five rows after those page 2 showed.
    await run(ItemsState.change_page_size, state, "5")
    await run(ItemsState.load_page, state, 2)
    await run(ItemsState.load_page, state, 3)
    assert [row.cells["title"] for row in state.rows] == [f"item {n}" for n in range(24, 19, -1)]


async def test_reloading_a_page_past_the_end_shows_the_last_one(
    session: AsyncSession, normal_user: Account
) -> None:
    owner = await db_user(session, normal_user)
    for number in range(15):
        await create_item(session, owner, f"item {number}")
    state = signed_in(ItemsState, normal_user)
    # A reload or a shared link: nothing is known about the rows until they are read.
    at_address(state, "/items?page=3")
    await run(ItemsState.open_page, state)
    assert (state.page, state.total, len(state.rows)) == (2, 15, 5)


async def test_blank_title_is_stopped_in_the_ui(
    session: AsyncSession, normal_user: Account
) -> None:
    state = signed_in(ItemsState, normal_user)
    assert await run(ItemsState.create, state, {"title": "", "description": ""}) == ""
    assert state.field_errors["title"] == validation.TITLE_REQUIRED
    assert (await session.exec(select(Item))).all() == []


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"title": "x" * 256, "description": ""}, "title", "at most 255 characters"),
        ({"title": "ok", "description": "nul\x00"}, "description", UNSTORABLE_TEXT),
        # Not what a form sends: a client's own event with a number for a text.
        ({"title": 5}, "title", "Input should be a valid string"),
    ],
)
async def test_what_the_schema_refuses_is_said_under_its_field(
    session: AsyncSession, normal_user: Account, form: dict[str, Any], field: str, message: str
) -> None:
    state = signed_in(ItemsState, normal_user)
    await run(ItemsState.create, state, form)
    assert message in state.field_errors[field]
    assert (await session.exec(select(Item))).all() == []


async def test_an_edit_the_schema_refuses_changes_nothing(
    session: AsyncSession, normal_user: Account
) -> None:
    owner = await session.get(User, normal_user.id)
    assert owner is not None
    item = await create_item(session, owner, "Kept")
    state = signed_in(ItemsState, normal_user)
    await run(ItemsState.open_page, state)
    assert item.id is not None
    ItemsState.open_edit.fn(state, item.id)
    await run(ItemsState.update, state, {"title": "", "description": ""})
    assert state.edit_open and state.field_errors["title"] == validation.TITLE_REQUIRED
    await session.refresh(item)
    assert item.title == "Kept"


async def test_a_row_off_the_page_is_read_again_as_the_user_may_see_it(
    session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    owner = await session.get(User, normal_user.id)
    stranger = await session.get(User, other_user.id)
    assert owner is not None and stranger is not None
    mine = await create_item(session, owner, "Mine")
    theirs = await create_item(session, stranger, "Theirs")
    assert mine.id is not None and theirs.id is not None
    state = signed_in(ItemsState, normal_user)
    row = await state._reread_row(mine.id)
    assert row is not None and row.cells["title"] == "Mine"
    assert await state._reread_row(theirs.id) is None


async def test_create_item_goes_through_the_service(
    session: AsyncSession, normal_user: Account
) -> None:
    state = signed_in(ItemsState, normal_user)
    state.add_open = True
    events = await run(ItemsState.create, state, {"title": "New", "description": ""})
    assert "Item created successfully" in events
    assert not state.add_open and [row.cells["title"] for row in state.rows] == ["New"]
    stored = (await session.exec(select(Item))).one()
    assert stored.owner_id == normal_user.id and stored.description == ""


async def test_someone_elses_item_cannot_be_deleted(
    session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    theirs = await create_item(session, await db_user(session, other_user), "theirs")
    state = signed_in(ItemsState, normal_user)
    assert theirs.id is not None
    state.selected = EntityRow(id=theirs.id, cells={"title": "theirs", "description": ""})
    assert messages.NOT_ENOUGH_PERMISSIONS in await run(ItemsState.delete, state)
    assert (await session.exec(select(Item))).one().id == theirs.id


async def test_unreachable_database_is_a_toast_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, normal_user: Account
) -> None:
    # The caller is still read (app.db.rows); every session the policy opens is dead.
    dead = create_async_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/app")
    for name in ("SessionMaker", "ReadOnlySessionMaker", "ReplicaSessionMaker"):
        monkeypatch.setattr(db, name, async_sessionmaker(dead, class_=AsyncSession))
    state = signed_in(ItemsState, normal_user)
    try:
        assert DATABASE_UNAVAILABLE in await run(ItemsState.open_page, state)
    finally:
        await dead.dispose()
    assert not state.loading and state.access_token


async def test_unreachable_database_for_the_caller_lookup_is_a_toast(
    monkeypatch: pytest.MonkeyPatch, normal_user: Account
) -> None:
    dead = create_async_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/app")
    monkeypatch.setattr(db, "engine", dead)  # what app.db.rows reads the caller through
    monkeypatch.setattr(db, "replica_engine", dead)  # no replica: it is the primary
    state = signed_in(ItemsState, normal_user)
    try:
        assert DATABASE_UNAVAILABLE in await run(ItemsState.open_page, state)
    finally:
        await dead.dispose()
    # Not the user's fault: the token stays, so the next try can work.
    assert not state.loading and state.access_token


# Admin --------------------------------------------------------------------------------


async def test_admin_page_sends_a_normal_user_home_with_no_data(normal_user: Account) -> None:
    state = signed_in(AdminState, normal_user)
    events = await run(AdminState.open_page, state)
    assert messages.NOT_ENOUGH_PRIVILEGES in events and 'path="/"' in events
    assert state.users == [] and state.total == 0


async def test_admin_handlers_check_the_caller_each_time(
    session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    state = signed_in(AdminState, superuser)
    await run(AdminState.open_page, state)
    assert {row.email for row in state.users} == {superuser.email, normal_user.email}
    # Demoted meanwhile: the next action is refused.
    admin = await db_user(session, superuser)
    admin.is_superuser = False
    session.add(admin)
    await session.commit()
    state.selected = next(row for row in state.users if row.email == normal_user.email)
    assert messages.NOT_ENOUGH_PRIVILEGES in await run(AdminState.delete, state)
    assert await users.get_user(session, normal_user.id) is not None


async def test_admin_edit_keeps_the_password_when_left_blank(
    session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    state = signed_in(AdminState, superuser)
    await run(AdminState.open_page, state)
    AdminState.open_edit.fn(state, normal_user.id)
    form = {"email": normal_user.email, "full_name": "Edited", "is_active": "on"}
    assert "User updated successfully" in await run(AdminState.update, state, form)
    session.expire_all()
    edited = await db_user(session, normal_user)
    assert edited.full_name == "Edited" and edited.is_active and not edited.is_superuser
    assert await auth.authenticate(
        session, normal_user.email, normal_user.password, client="127.0.0.1"
    )


async def test_admin_edit_sets_a_new_password(
    session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    state = signed_in(AdminState, superuser)
    await run(AdminState.open_page, state)
    AdminState.open_edit.fn(state, normal_user.id)
    form = {
        "email": normal_user.email,
        "full_name": "",
        "is_active": "on",
        "password": "set-by-admin",
        "confirm_password": "set-by-admin",
    }
    assert "User updated successfully" in await run(AdminState.update, state, form)
    session.expire_all()
    login = make_state(LoginState)
    old = {"email": normal_user.email, "password": normal_user.password}
    assert messages.INCORRECT_LOGIN in await run(LoginState.log_in, login, old)
    new = {"email": normal_user.email, "password": "set-by-admin"}
    assert 'path="/"' in await run(LoginState.log_in, login, new)


@pytest.mark.parametrize("password", ["", "a-password"])
async def test_admin_add_refuses_a_blank_confirmation(
    session: AsyncSession, superuser: Account, password: str
) -> None:
    state = signed_in(AdminState, superuser)
    await run(AdminState.open_page, state)
    AdminState.set_add_open.fn(state, True)
    form = {
        "email": "new@example.com",
        "password": password,
        "confirm_password": "",
        "is_active": "on",
    }
    # Refused under the field, before any service is asked: no toast, no account.
    assert await run(AdminState.create, state, form) == ""
    assert state.confirm_password_error == validation.CONFIRM_YOUR_PASSWORD
    assert state.add_open
    assert await users.get_user_by_email(session, "new@example.com") is None


# Settings -----------------------------------------------------------------------------


async def test_password_change_keeps_this_tab_signed_in_and_ends_the_others(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    other = await second_session(client, normal_user)
    state = signed_in(PasswordState, normal_user)
    form = {
        "current_password": normal_user.password,
        "new_password": "a-new-password",
        "confirm_password": "a-new-password",
    }
    assert messages.PASSWORD_UPDATED in await run(PasswordState.change_password, state, form)
    assert (await auth.user_from_access_token(state.access_token)).id == normal_user.id
    with pytest.raises(InvalidCredentials):
        await auth.user_from_access_token(other)


async def test_profile_sends_only_what_changed(
    session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    # An address stored before today's check (or by hand) that the check now refuses:
    # were the unchanged email sent along with the name, the update would be refused.
    legacy = "ada@intranet.local"
    assert validation.email_error(legacy) == ""  # the form lets it through
    user = await db_user(session, normal_user)
    user.email = legacy
    session.add(user)
    await session.commit()
    state = signed_in(ProfileState, normal_user)
    await run(ProfileState.open_page, state)
    form = {"full_name": "Only Name", "email": legacy}
    assert "User updated successfully" in await run(ProfileState.save, state, form)
    assert state.user.full_name == "Only Name" and not state.editing
    session.expire_all()
    stored = await db_user(session, normal_user)
    assert (stored.full_name, stored.email) == ("Only Name", legacy)
    taken = {"full_name": "Only Name", "email": other_user.email}
    assert messages.EMAIL_TAKEN_UPDATE in await run(ProfileState.save, state, taken)


async def test_both_faces_store_a_cleared_full_name_alike(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    # The template's API stores what its SPA sends for a cleared field: "" (not NULL).
    state = signed_in(ProfileState, normal_user)
    named = {"full_name": "Ada Lovelace", "email": normal_user.email}
    assert "User updated successfully" in await run(ProfileState.save, state, named)
    cleared = {"full_name": "", "email": normal_user.email}
    assert "User updated successfully" in await run(ProfileState.save, state, cleared)
    assert state.user.full_name == "" and state.user.display_name == normal_user.email
    api = settings.API_V1_STR
    await client.patch(f"{api}/users/me", json={"full_name": "Grace"}, headers=other_user.headers)
    response = await client.patch(
        f"{api}/users/me", json={"full_name": ""}, headers=other_user.headers
    )
    assert response.status_code == 200 and response.json()["full_name"] == ""
    session.expire_all()
    assert (await db_user(session, normal_user)).full_name == ""
    assert (await db_user(session, other_user)).full_name == ""


async def test_ui_stores_texts_as_typed_like_the_api(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    # No trimming and no "" -> NULL in one face only: the same input, the same row.
    admin = signed_in(AdminState, superuser)
    await run(AdminState.open_page, admin)
    AdminState.open_edit.fn(admin, normal_user.id)
    form = {"email": normal_user.email, "full_name": " Ada ", "is_active": "on"}
    assert "User updated successfully" in await run(AdminState.update, admin, form)
    session.expire_all()
    assert (await db_user(session, normal_user)).full_name == " Ada "
    state = signed_in(ItemsState, normal_user)
    form = {"title": " Typed ", "description": ""}
    assert "Item created successfully" in await run(ItemsState.create, state, form)
    api = settings.API_V1_STR
    body = {"title": " Typed ", "description": ""}
    sent = await client.post(f"{api}/items/", json=body, headers=normal_user.headers)
    assert sent.status_code == 200, sent.text
    stored = (await session.exec(select(Item).order_by(col(Item.id)))).all()
    assert [(item.title, item.description) for item in stored] == [(" Typed ", "")] * 2


async def test_superuser_cannot_delete_their_own_account(
    session: AsyncSession, superuser: Account
) -> None:
    state = signed_in(DeleteAccountState, superuser)
    assert messages.SUPERUSER_SELF_DELETE in await run(DeleteAccountState.delete_account, state)
    assert state.access_token
    assert await users.get_user(session, superuser.id) is not None


async def test_deleting_your_account_logs_you_out(
    session: AsyncSession, normal_user: Account
) -> None:
    state = signed_in(DeleteAccountState, normal_user)
    events = await run(DeleteAccountState.delete_account, state)
    assert "Your account has been successfully deleted" in events and '"/login"' in events
    assert state.access_token == ""
    assert await users.get_user(session, normal_user.id) is None


# Sessions ------------------------------------------------------------------------------


async def second_session(client: httpx.AsyncClient, account: Account) -> str:
    return (await login_headers(client, account.email, account.password))[
        "Authorization"
    ].removeprefix("Bearer ")


async def test_log_out_ends_the_session_for_the_api_too(normal_user: Account) -> None:
    state = signed_in(AuthState, normal_user)
    assert await auth.user_from_access_token(normal_user.token)
    await AuthState.log_out.fn(state)
    with pytest.raises(InvalidCredentials):
        await auth.user_from_access_token(normal_user.token)


async def test_log_in_keeps_the_device_token_and_sends_it_next_time(normal_user: Account) -> None:
    state = make_state(LoginState)
    form = {"email": normal_user.email, "password": normal_user.password}
    await run(LoginState.log_in, state, form)
    device = state.device_token
    assert device and auth.known_device(device, normal_user.email)
    await run(LoginState.log_in, state, form)
    assert state.device_token == device


async def test_sessions_tab_lists_this_device_and_the_others(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    await second_session(client, normal_user)
    state = signed_in(SessionsState, normal_user)
    await run(SessionsState.open_tab, state, "profile")
    assert state.sessions == []
    await run(SessionsState.open_tab, state, "sessions")
    assert len(state.sessions) == 2
    assert [row.current for row in state.sessions].count(True) == 1
    assert all(row.device and row.last_active and row.address for row in state.sessions)


async def test_sessions_tab_revokes_another_session(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    other = await second_session(client, normal_user)
    state = signed_in(SessionsState, normal_user)
    await run(SessionsState.open_tab, state, "sessions")
    other_row = next(row for row in state.sessions if not row.current)
    events = await run(SessionsState.revoke, state, other_row.id)
    assert messages.SESSION_ENDED in events
    assert [row.current for row in state.sessions] == [True]
    with pytest.raises(InvalidCredentials):
        await auth.user_from_access_token(other)
    # Unknown, another user's, or not a number: a toast, nothing ended.
    assert messages.SESSION_NOT_FOUND in await run(SessionsState.revoke, state, 2**31 - 1)
    assert await run(SessionsState.revoke, state, "1") == ""
    assert await auth.user_from_access_token(normal_user.token)


async def test_sign_out_of_all_other_sessions(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    others = [await second_session(client, normal_user) for _ in range(2)]
    state = signed_in(SessionsState, normal_user)
    events = await run(SessionsState.sign_out_others, state)
    assert messages.SESSIONS_ENDED.format(count=2) in events
    for other in others:
        with pytest.raises(InvalidCredentials):
            await auth.user_from_access_token(other)
    assert await auth.user_from_access_token(normal_user.token)


async def test_admin_ends_a_users_sessions(superuser: Account, normal_user: Account) -> None:
    state = signed_in(AdminState, superuser)
    events = await run(AdminState.end_sessions, state, normal_user.id)
    assert messages.SESSIONS_ENDED.format(count=1) in events
    with pytest.raises(InvalidCredentials):
        await auth.user_from_access_token(normal_user.token)
    assert messages.USER_NOT_FOUND in await run(AdminState.end_sessions, state, 2**31 - 1)
    assert messages.USER_NOT_FOUND in await run(AdminState.end_sessions, state, "2")


async def test_only_superusers_end_sessions_from_the_admin_page(
    normal_user: Account, other_user: Account
) -> None:
    state = signed_in(AdminState, normal_user)
    await run(AdminState.end_sessions, state, other_user.id)
    assert await auth.user_from_access_token(other_user.token)


async def test_sessions_tab_shows_the_ones_used_last_and_counts_the_rest(
    client: httpx.AsyncClient, normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions_state, "SHOWN", 2)
    for _ in range(2):
        await second_session(client, normal_user)
    state = signed_in(SessionsState, normal_user)
    await run(SessionsState.open_tab, state, "sessions")
    assert (len(state.sessions), state.more) == (2, 1)
