"""The live-table registry: who hears which notice, coalescing, and nothing left behind."""

import asyncio

import pytest

from app.db.changes import Change, owned_kinds
from app.services import items  # noqa: F401  (declares the "item" kind)
from app.ui.table.live import (
    ALL,
    MAX_REFRESHES_AT_ONCE,
    MAX_REFRESHES_PER_USER,
    LiveTables,
    Topic,
    View,
    topics_of,
)

WINDOW = 0.2


class Refreshes:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, token: str, handler: str) -> None:
        assert handler == f"{token}-state.live_refresh"
        self.calls.append((token, asyncio.get_running_loop().time()))
        self.arrived.set()

    def tokens(self) -> list[str]:
        return [token for token, _ in self.calls]


def view(
    token: str,
    *topics: Topic,
    user_id: int = 1,
    rows: tuple[int, ...] = (),
    searching: bool = False,
) -> View:
    return View(
        handler=f"{token}-state.live_refresh",
        path="/items",
        user_id=user_id,
        topics=frozenset(topics),
        rows=frozenset(rows),
        searching=searching,
    )


async def settle(seconds: float = WINDOW * 2) -> None:
    await asyncio.sleep(seconds)


def registry() -> tuple[LiveTables, Refreshes]:
    refreshes = Refreshes()
    return LiveTables(WINDOW, refreshes), refreshes


async def test_an_item_change_reaches_its_owners_and_the_superusers_tables_only() -> None:
    tables, refreshes = registry()
    tables.watch("owner", view("owner", ("item", 7), ("me", 7), user_id=7))
    tables.watch("other", view("other", ("item", 8), ("me", 8), user_id=8))
    tables.watch("super", view("super", ("item", ALL), ("me", 1)))
    tables.watch("admin", view("admin", ("users", ALL), ("me", 1)))
    tables.hear(Change("item", 50, 7, "created"))
    await settle()
    assert sorted(refreshes.tokens()) == ["owner", "super"]


def test_a_deleted_user_is_news_for_the_lists_that_showed_their_items() -> None:
    # Every entity whose rows a user owns, Items and any other declared since.
    owned = {(kind, owner) for kind in owned_kinds() for owner in (3, ALL)}
    assert ("item", 3) in owned
    assert set(topics_of(Change("user", 3, 3, "deleted"))) == {("users", ALL), ("me", 3)} | owned
    assert set(topics_of(Change("user", 3, 3, "updated"))) == {("users", ALL), ("me", 3)}


def test_an_edit_matters_only_on_the_page_that_shows_the_row() -> None:
    edit = Change("item", 5, 7, "updated")
    assert view("a", rows=(4, 5)).concerns(edit)
    assert not view("a", rows=(4, 6)).concerns(edit)
    # A search may start or stop matching the edited row.
    assert view("a", rows=(4, 6), searching=True).concerns(edit)
    # Creations and deletions move every page of the list.
    assert view("a", rows=(4, 6)).concerns(Change("item", 5, 7, "created"))
    assert view("a", rows=(4, 6)).concerns(Change("item", 5, 7, "deleted"))
    # The user's own account (the greeting) always.
    assert view("a", user_id=7).concerns(Change("user", 7, 7, "updated"))
    assert not view("a", user_id=8).concerns(Change("user", 7, 7, "updated"))


async def test_a_burst_makes_one_refresh_now_and_one_at_the_end_of_the_window() -> None:
    tables, refreshes = registry()
    tables.watch("tab", view("tab", ("item", 7)))
    for number in range(20):
        tables.hear(Change("item", number, 7, "created"))
    await asyncio.wait_for(refreshes.arrived.wait(), 1)
    first = refreshes.calls[0][1]
    for number in range(20, 40):
        tables.hear(Change("item", number, 7, "created"))
    await settle()
    assert len(refreshes.calls) == 2
    # The trailing refresh waits out the window since the first.
    assert refreshes.calls[1][1] - first >= WINDOW * 0.95


async def test_refreshes_are_at_most_one_per_window_under_a_steady_stream() -> None:
    tables, refreshes = registry()
    tables.watch("tab", view("tab", ("item", 7)))
    loop = asyncio.get_running_loop()
    end = loop.time() + WINDOW * 5
    number = 0
    while loop.time() < end:
        tables.hear(Change("item", number, 7, "created"))
        number += 1
        await asyncio.sleep(0.01)
    await settle()
    times = [at for _, at in refreshes.calls]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert 4 <= len(times) <= 7
    assert min(gaps) >= WINDOW * 0.95


async def test_a_forgotten_client_keeps_nothing_and_hears_nothing() -> None:
    tables, refreshes = registry()
    tables.watch("tab", view("tab", ("item", 7), ("me", 7)))
    tables.hear(Change("item", 1, 7, "created"))
    # Its trailing refresh is pending when the tab goes.
    tables.hear(Change("item", 2, 7, "created"))
    await asyncio.wait_for(refreshes.arrived.wait(), 1)
    tables.forget("tab")
    assert tables.per_client_entries() == 0
    assert len(tables) == 0 and tables.followers(("item", 7)) == 0
    tables.hear(Change("item", 3, 7, "created"))
    await settle()
    assert refreshes.tokens() == ["tab"]


async def test_moving_to_another_list_stops_following_the_first() -> None:
    tables, refreshes = registry()
    tables.watch("tab", view("tab", ("item", 7), ("me", 7)))
    tables.watch("tab", view("tab", ("users", ALL), ("me", 7)))
    assert tables.followers(("item", 7)) == 0 and tables.followers(("me", 7)) == 1
    tables.hear(Change("item", 1, 7, "created"))
    await settle()
    assert refreshes.calls == []


async def test_a_notice_costs_only_the_clients_of_its_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tables, refreshes = registry()
    for number in range(1000):
        tables.watch(f"t{number}", view(f"t{number}", ("item", 1000 + number)))
    scheduled: list[str] = []
    monkeypatch.setattr(tables, "_schedule", scheduled.append)
    tables.hear(Change("item", 1, 1000, "created"))
    tables.hear(Change("item", 1, 5, "created"))
    assert scheduled == ["t0"]


async def test_a_refresh_that_cannot_be_queued_is_logged_and_the_next_one_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[str] = []

    async def failing(token: str, _handler: str) -> None:
        attempts.append(token)
        raise RuntimeError("the event processor is gone")

    tables = LiveTables(0.0, failing)
    tables.watch("tab", view("tab", ("item", 7)))
    tables.hear(Change("item", 1, 7, "created"))
    await settle(0.05)
    tables.hear(Change("item", 2, 7, "created"))
    await settle(0.05)
    assert attempts == ["tab", "tab"]
    assert caplog.text.count("Could not queue a live refresh") == 2


async def test_refreshes_take_turns_and_a_waiting_tab_needs_no_second_one() -> None:
    started: list[str] = []
    release: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def slow(token: str, _handler: str) -> asyncio.Future[None]:
        started.append(token)
        return release

    tables = LiveTables(0.0, slow)
    tokens = [f"t{number}" for number in range(MAX_REFRESHES_AT_ONCE + 3)]
    for number, token in enumerate(tokens):
        # Tabs of as many users: one user's would take one turn at a time.
        tables.watch(token, view(token, ("item", 7), user_id=number + 1))
    tables.hear(Change("item", 1, 7, "created"))
    await settle(0.05)
    assert len(started) == MAX_REFRESHES_AT_ONCE
    reading = set(started)
    # The tabs still waiting will read after this write: nothing more is queued for them;
    # those already reading may have read before it, and refresh again.
    tables.hear(Change("item", 2, 7, "created"))
    await settle(0.05)
    release.set_result(None)
    await settle(0.05)
    assert all(started.count(token) == 2 for token in reading)
    assert all(started.count(token) == 1 for token in set(tokens) - reading)


async def test_one_users_many_tabs_do_not_queue_in_front_of_another_users_tab() -> None:
    started: list[str] = []
    releases: dict[str, asyncio.Future[None]] = {}

    async def slow(token: str, _handler: str) -> asyncio.Future[None]:
        started.append(token)
        releases[token] = asyncio.get_running_loop().create_future()
        return releases[token]

    tables = LiveTables(0.0, slow)
    crowd = [f"a{number}" for number in range(MAX_REFRESHES_AT_ONCE * 4)]
    for token in crowd:
        tables.watch(token, view(token, ("item", 1), user_id=1))
    tables.watch("b", view("b", ("item", 2), user_id=2))
    # The crowd's user holds its share of the turns, the rest wait in its queue.
    tables.hear(Change("item", 1, 1, "created"))
    await settle(0.05)
    assert len(started) == MAX_REFRESHES_PER_USER
    # The other user's tab starts at once, however many of the crowd wait.
    tables.hear(Change("item", 2, 2, "created"))
    await settle(0.05)
    assert started[-1] == "b"
    # As each of the crowd's refreshes ends, the next one starts.
    releases[started[0]].set_result(None)
    await settle(0.05)
    assert len(started) == MAX_REFRESHES_PER_USER + 2
    while not all(future.done() for future in releases.values()):
        for future in list(releases.values()):
            if not future.done():
                future.set_result(None)
        await settle(0.02)
    assert sorted(started) == sorted([*crowd, "b"])
    # Nothing waits any more: what is left per client is its view, topic and last refresh.
    assert tables.per_client_entries() == 3 * (len(crowd) + 1)
