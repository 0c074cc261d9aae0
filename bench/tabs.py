"""A thousand signed-in tabs on two backend replicas sharing Redis, used at a human pace
while writes arrive through the API (issue #24, part 3).

Run through `bash bench/run.sh --tabs 1000` (or directly, after `source scripts/env.sh`):

- two backends started as production starts them (`reflex run --env prod
  --backend-only`, one granian worker each) on one fresh PostgreSQL database, with UI
  state and change notices in a private redis-server: replicas as a deployment runs them;
- TABS socket.io clients (Reflex's own protocol, as a browser tab speaks it), spread over
  the two backends and over OWNERS users, each signed in on the Items page. Half of them
  browse: every 5-10 s they turn to another page or search for something. The other half
  watch the first page, and every 5-10 s ask for it again;
- the owners create items through the REST API, WRITES a second in turn, for SECONDS.

Printed: p50 / p95 / p99 of an event's round trip (sent to the update that answers it) and
of a live refresh (a write's response to the first update of a watching tab of its owner
that carries the row), the backends' RSS and Redis's memory per tab (measured once the
tabs are open, before the load), and every error: a tab that could not open, an event
without an answer within 30 s, a failed write, a missed refresh.
"""

import argparse
import asyncio
import contextlib
import random
import secrets
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench import (  # noqa: E402
    PASSWORD,
    Server,
    backend_env,
    create_database,
    drop_database,
    login,
    machine,
    start_backend,
    stop,
)
from bench.live import (  # noqa: E402
    ROWS_KEY,
    Owner,
    refresh_latencies,
    seed_owners,
    start_redis,
    write_load,
)
from bench.ui import ITEMS_STATE, TOKEN_VAR, percentile  # noqa: E402
from devtools import reflex_socket  # noqa: E402
from devtools.servers import stop_process_group  # noqa: E402

ANSWER_SECONDS = 30.0
# What a browsing tab searches for: some words match the seeded rows, some nothing.
SEARCHES = ("item", "bench", "during", "nothing-matches", "0", "")


@dataclass
class Tab:
    owner: Owner
    base: str
    browsing: bool
    # The tab's token: its owner's (one browser, many tabs) or a login of its own.
    token: str
    client: Any = None
    hydrated: asyncio.Event = field(default_factory=asyncio.Event)
    # The var the pending event's answer changes, and when the event was sent.
    pending: tuple[str, float] | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    round_trips_ms: list[float] = field(default_factory=list)
    # title -> when an update first carried it
    seen: dict[str, float] = field(default_factory=dict)
    unanswered: int = 0

    async def open(self) -> None:
        self.client = await reflex_socket.connect(
            self.base, str(uuid.uuid4()), "/items", {TOKEN_VAR: self.token}, self.on_update
        )
        await asyncio.wait_for(self.hydrated.wait(), 60)

    async def on_update(self, update: dict[str, Any]) -> None:
        delta = update.get("delta", {}).get(ITEMS_STATE, {})
        now = time.perf_counter()
        rows = delta.get(ROWS_KEY)
        if rows is not None:
            self.hydrated.set()
            for row in rows:
                self.seen.setdefault(row["cells"]["title"], now)
        if self.pending is not None and self.pending[0] in delta:
            self.round_trips_ms.append((now - self.pending[1]) * 1000)
            self.pending = None
            self.answered.set()

    async def use(self, until: float) -> None:
        """Events at a human pace until `until` (perf_counter)."""
        page = 1
        while True:
            await asyncio.sleep(random.uniform(5, 10))
            if time.perf_counter() >= until:
                return
            if self.browsing and random.random() < 0.5:
                text = random.choice(SEARCHES)
                name, key = "search_rows", "search_rx_state_"
                payload: dict[str, Any] = {"text": text}
            else:
                page = (page % 3) + 1 if self.browsing else 1
                # The page var changes only when the page does; the rows always come.
                name, payload, key = "load_page", {"page": page}, ROWS_KEY
            self.answered.clear()
            self.pending = (key, time.perf_counter())
            await reflex_socket.send(self.client, f"{ITEMS_STATE}.{name}", payload, "/items")
            try:
                await asyncio.wait_for(self.answered.wait(), ANSWER_SECONDS)
            except TimeoutError:
                self.unanswered += 1
                self.pending = None

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()


def used_memory(store: redis.Redis) -> int:
    info: dict[str, Any] = store.info("memory")  # type: ignore[assignment]
    return int(info["used_memory"])


def rss_mib(servers: list[Server]) -> float:
    total = 0
    for server in servers:
        for process in server.tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
    return total / 2**20


def print_table(rows: list[tuple[str, str]]) -> None:
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def ms(values: list[float]) -> str:
    if not values:
        return "none"
    p50, p95, p99 = (percentile(values, share) for share in (0.5, 0.95, 0.99))
    return f"{p50:.0f} / {p95:.0f} / {p99:.0f} ms (of {len(values)})"


async def run(args: argparse.Namespace, servers: list[Server], redis_url: str) -> int:
    owners = seed_owners(servers[0].url, args.owners)
    store = redis.Redis.from_url(redis_url)
    redis_before = used_memory(store)
    rss_before = rss_mib(servers)
    tabs = []
    for n in range(args.tabs):
        owner = owners[n % len(owners)]
        token = login(servers[0].url, owner.email, PASSWORD) if args.tab_sessions else owner.token
        tabs.append(Tab(owner, servers[n % len(servers)].url, n % 2 == 0, token))
    opened = time.perf_counter()
    failed_opens = 0
    # Tabs open over a minute or so, as people would, not in one burst.
    for batch in range(0, len(tabs), 25):
        results = await asyncio.gather(
            *(tab.open() for tab in tabs[batch : batch + 25]), return_exceptions=True
        )
        failed_opens += sum(isinstance(result, BaseException) for result in results)
    open_seconds = time.perf_counter() - opened
    live = [tab for tab in tabs if tab.hydrated.is_set()]
    await asyncio.sleep(5)
    redis_tabs = used_memory(store) - redis_before
    rss_tabs = rss_mib(servers) - rss_before
    until = time.perf_counter() + args.seconds
    users = [asyncio.create_task(tab.use(until)) for tab in live]
    writes, write_errors, _ = await write_load(
        servers[0].url, owners, args.writes, args.seconds, "tabs"
    )
    await asyncio.gather(*users)
    await asyncio.sleep(3)
    refreshes, expected, missed = refresh_latencies(tab for tab in live if not tab.browsing)
    round_trips = [value for tab in live for value in tab.round_trips_ms]
    unanswered = sum(tab.unanswered for tab in live)
    await asyncio.gather(*(tab.close() for tab in tabs))
    print()
    print(
        f"Machine: {machine()}. {args.tabs} tabs over {len(servers)} backends (one granian "
        f"worker each, UI state and notices in Redis), {args.owners} owners, an event per "
        f"tab every 5-10 s, {args.writes:g} writes/s through the API for {args.seconds:g} s."
    )
    print()
    print_table(
        [
            ("tabs open (signed in, first page shown)", f"{len(live)} in {open_seconds:.0f} s"),
            ("event round trip p50 / p95 / p99", ms(round_trips)),
            ("live refresh p50 / p95 / p99 (write answered → row shown)", ms(refreshes)),
            ("backends' RSS per open tab", f"{rss_tabs * 1024 / max(len(live), 1):.0f} KiB"),
            ("Redis memory per open tab", f"{redis_tabs / 1024 / max(len(live), 1):.1f} KiB"),
            ("writes", f"{writes} ({write_errors} failed)"),
            (
                "errors",
                f"{failed_opens} tabs not opened, {unanswered} events unanswered in "
                f"{ANSWER_SECONDS:g} s, {write_errors} writes failed, {missed} of "
                f"{expected} refreshes missed",
            ),
        ]
    )
    errors = failed_opens + unanswered + write_errors + missed
    targets = [
        percentile(round_trips, 0.95) <= 100 if round_trips else False,
        percentile(refreshes, 0.95) <= 1000 if refreshes else False,
        errors == 0,
    ]
    print(
        "\nTargets (p95 event round trip ≤ 100 ms, p95 live refresh ≤ 1 s, no error): "
        + ("met" if all(targets) else "not met")
    )
    return 0 if all(targets) or not args.strict else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tabs", type=int, default=1000)
    parser.add_argument("--owners", type=int, default=50)
    parser.add_argument("--writes", type=float, default=20.0, help="writes a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backends", type=int, default=2)
    parser.add_argument(
        "--tab-sessions",
        action="store_true",
        help="each tab signs in on its own (one device each), not as its owner's browser",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--database-server", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fsr-tabs-"))
    redis_process, redis_url = start_redis(work)
    database = create_database(args.database_server)
    servers: list[Server] = []
    # One deployment: the replicas share the key that signs tokens.
    shared = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "FIRST_SUPERUSER_PASSWORD": secrets.token_urlsafe(12),
        # Every tab comes from this one address, as no real crowd does: the per-address
        # cap of anonymous tabs would drop tabs that have not shown their token yet.
        "TAB_STATES_PER_ADDRESS": str(args.tabs + 100),
        # The owners sign up and log in from it too: more than the per-address sign-up
        # limit allows in an hour (bench/live.py turns the limits off the same way).
        "RATE_LIMITS_ENABLED": "false",
        # What is measured is tabs, not logins: --tab-sessions makes one per tab.
        "BCRYPT_ROUNDS": "4",
    }
    try:
        for number in range(args.backends):
            folder = work / f"backend-{number}"
            folder.mkdir()
            env = backend_env(database, 1, REDIS_URL=redis_url, **shared)
            servers.append(start_backend(env, folder, 1))
        return asyncio.run(run(args, servers, redis_url))
    finally:
        for server in servers:
            stop(server)
        drop_database(database)
        stop_process_group(redis_process)


if __name__ == "__main__":
    sys.exit(main())
