"""Live-tables benchmark: open Items tables on one backend while writes arrive through the API.

Run through `bench/run.sh --live` (or directly, after `source scripts/env.sh`):

1. Live: TABS socket.io clients (Reflex's own protocol, as a browser tab speaks it) show
   the Items table of OWNERS users (TABS / OWNERS tabs each) on one backend process; the
   owners create items through the REST API, WRITES a second in turn, for SECONDS.
   For every (write, tab of its owner): the time from the write's response to the first
   update that carries the new row. p50 / p95, and how many never arrived.
2. The same load against a backend with LIVE_TABLES=false: server CPU per write with and
   without the live refreshes.
3. S4 (POST /items/, wrk, 32 connections, no tab open) against both backends, interleaved
   (on, off, on, off, ...): what publishing a notice costs a write.

Both backends are started as production starts them (`reflex run --env prod
--backend-only`, one granian worker) on a fresh PostgreSQL database, with UI state and
notices in a private redis-server, so two backends share Redis as replicas do.
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench import (  # noqa: E402
    Load,
    Sampler,
    Server,
    backend_env,
    bearer,
    create_database,
    drop_database,
    lua_post,
    measure,
    sign_up,
    start_backend,
    stop,
)
from bench.ui import ITEMS_STATE, TOKEN_VAR, percentile  # noqa: E402
from devtools import reflex_socket  # noqa: E402
from devtools.servers import free_port, start_logged, stop_process_group  # noqa: E402

ROWS_KEY = "rows_rx_state_"


@dataclass
class Owner:
    email: str
    token: str
    # title -> when the write's response arrived (perf_counter)
    written: dict[str, float] = field(default_factory=dict)


@dataclass
class TabClient:
    owner: Owner
    # title -> when an update first carried it
    seen: dict[str, float] = field(default_factory=dict)
    client: socketio.AsyncClient | None = None
    hydrated: asyncio.Event = field(default_factory=asyncio.Event)

    async def open(self, base: str) -> None:
        self.client = await reflex_socket.connect(
            base, str(uuid.uuid4()), "/items", {TOKEN_VAR: self.owner.token}, self.on_update
        )
        await asyncio.wait_for(self.hydrated.wait(), 60)

    async def on_update(self, update: dict[str, Any]) -> None:
        rows = update.get("delta", {}).get(ITEMS_STATE, {}).get(ROWS_KEY)
        if rows is None:
            return
        now = time.perf_counter()
        for row in rows:
            self.seen.setdefault(row["cells"]["title"], now)
        self.hydrated.set()

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()


class Watching(Protocol):
    """A tab that notes when each of its owner's new rows first showed."""

    owner: Owner
    seen: dict[str, float]


def refresh_latencies(tabs: Iterable[Watching]) -> tuple[list[float], int, int]:
    """For each (write, tab of its owner): ms from the write's answer to the row in the
    tab; and how many were expected and how many never showed."""
    latencies: list[float] = []
    expected = missed = 0
    for tab in tabs:
        for title, answered in tab.owner.written.items():
            expected += 1
            seen = tab.seen.get(title)
            if seen is None:
                missed += 1
            else:
                latencies.append((seen - answered) * 1000)
    return latencies, expected, missed


@dataclass
class LiveResult:
    latencies_ms: list[float]
    expected: int
    missed: int
    writes: int
    write_errors: int
    cpu_ms_per_write: float
    write_p50_ms: float


def seed_owners(base: str, count: int) -> list[Owner]:
    owners = []
    for _ in range(count):
        email, _, token = sign_up(base, "live")
        owners.append(Owner(email, token))
    return owners


async def write_load(
    base: str, owners: list[Owner], rate: float, seconds: float, label: str
) -> tuple[int, int, list[float]]:
    """Creates at `rate` a second, owners in turn; (writes, errors, response times ms)."""
    errors = 0
    durations: list[float] = []
    tasks: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as client:

        async def one(owner: Owner, title: str) -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                response = await client.post(
                    "/items/",
                    json={"title": title, "description": "written during the benchmark"},
                    headers=bearer(owner.token),
                )
            except httpx.HTTPError:
                errors += 1
                return
            answered = time.perf_counter()
            if response.status_code != 200:
                errors += 1
                return
            owner.written[title] = answered
            durations.append((answered - started) * 1000)

        start = time.perf_counter()
        count = int(rate * seconds)
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            owner = owners[n % len(owners)]
            tasks.append(asyncio.create_task(one(owner, f"{label} {n:05d}")))
        await asyncio.gather(*tasks)
    return count, errors, durations


async def live_phase(
    server: Server, owners: list[Owner], tabs: int, rate: float, seconds: float, label: str
) -> LiveResult:
    for owner in owners:
        owner.written.clear()
    clients = [TabClient(owners[n % len(owners)]) for n in range(tabs)]
    # Tabs open over a few seconds, as people would, not in one burst.
    for batch in range(0, tabs, 20):
        await asyncio.gather(*(tab.open(server.url) for tab in clients[batch : batch + 20]))
    sampler = Sampler(server)
    with sampler.measure():
        writes, errors, durations = await write_load(server.url, owners, rate, seconds, label)
        # Updates still on their way when the last write answered.
        await asyncio.sleep(3)
    latencies, expected, missed = refresh_latencies(clients)
    await asyncio.gather(*(tab.close() for tab in clients))
    cpu_ms = (sampler.cpu_end - sampler.cpu_start) * 1000 / max(writes - errors, 1)
    return LiveResult(
        latencies,
        expected,
        missed,
        writes,
        errors,
        cpu_ms,
        statistics.median(durations) if durations else float("nan"),
    )


def start_redis(work: Path) -> tuple[Any, str]:
    port = free_port()
    process = start_logged(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        dict(os.environ),
        work / "redis.log",
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return process, url
        time.sleep(0.1)
    raise SystemExit("redis-server did not start")


def print_live(args: argparse.Namespace, on: LiveResult, off: LiveResult) -> None:
    p50, p95 = percentile(on.latencies_ms, 0.5), percentile(on.latencies_ms, 0.95)
    print(
        f"| {args.tabs} open Items tables ({args.owners} owners), {args.writes:g} writes/s "
        f"for {args.seconds:g} s | {on.writes} writes, {on.write_errors} failed, "
        f"write p50 {on.write_p50_ms:.0f} ms |"
    )
    print(
        f"| write response → the row in each of its owner's tables, p50 / p95 "
        f"| {p50:.0f} ms / {p95:.0f} ms (of {len(on.latencies_ms)} updates) |"
    )
    print(f"| missed updates | {on.missed} of {on.expected} |")
    print(
        f"| server CPU per write, live tables on / off (same tabs and writes) "
        f"| {on.cpu_ms_per_write:.1f} ms / {off.cpu_ms_per_write:.1f} ms "
        f"({on.cpu_ms_per_write / max(off.cpu_ms_per_write, 1e-9):.2f}×) |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tabs", type=int, default=200)
    parser.add_argument("--owners", type=int, default=20)
    parser.add_argument("--writes", type=float, default=20.0, help="writes a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=30.0)
    parser.add_argument("--s4-seconds", type=int, default=10)
    parser.add_argument("--s4-rounds", type=int, default=3)
    parser.add_argument("--s4-only", action="store_true", help="skip the open tables")
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is needed (apt-get install redis-server)")

    work = Path(tempfile.mkdtemp(prefix="fsr-live-bench-"))
    database = create_database(args.database_server)
    redis_process, redis_url = start_redis(work)
    # One environment for both: they share the database and the tokens of its owners.
    base_env = backend_env(database, REDIS_URL=redis_url, RATE_LIMITS_ENABLED="false")
    servers: dict[str, Server] = {}
    try:
        for name, live in (("on", "true"), ("off", "false")):
            folder = work / name
            folder.mkdir()
            env = {
                **base_env,
                "LIVE_TABLES": live,
                "REFLEX_WEB_WORKDIR": str(folder / "web"),
                "REFLEX_STATES_WORKDIR": str(folder / "states"),
            }
            servers[name] = start_backend(env, folder, 1)
        owners = seed_owners(servers["on"].url, args.owners)

        on = off = None
        if not args.s4_only:
            print(
                f"# live: {args.tabs} tabs of {args.owners} owners, {args.writes:g} writes/s "
                f"for {args.seconds:g} s",
                flush=True,
            )
            on = asyncio.run(
                live_phase(servers["on"], owners, args.tabs, args.writes, args.seconds, "Live")
            )
            print(f"# the same load, LIVE_TABLES=false, {args.baseline_seconds:g} s", flush=True)
            off = asyncio.run(
                live_phase(
                    servers["off"], owners, args.tabs, args.writes, args.baseline_seconds, "Quiet"
                )
            )

        print(f"# S4, notices on vs off, {args.s4_rounds} interleaved rounds", flush=True)
        script = lua_post(
            work,
            "s4",
            '{"title": "Benchmark item", "description": "An item of a typical length."}',
            "application/json",
        )
        headers = bearer(owners[0].token)
        s4: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(args.s4_rounds):
            for name in ("on", "off"):
                load = Load(f"{servers[name].url}/api/v1/items/", script, headers)
                result = measure("S4", load, servers[name], 32, args.s4_seconds, 2)
                s4[name].append(result.rps)
    finally:
        for server in servers.values():
            stop(server)
        stop_process_group(redis_process)
        drop_database(database)

    s4_on, s4_off = statistics.median(s4["on"]), statistics.median(s4["off"])
    print()
    print("| live tables | value |")
    print("|---|---|")
    if on is not None and off is not None:
        print_live(args, on, off)
    print(
        f"| S4 POST /items/ (32 connections, no tab open), notices on / off, median of "
        f"{args.s4_rounds} interleaved | {s4_on:.0f} / {s4_off:.0f} req/s "
        f"({s4_on / s4_off:.2f}×; rounds on {[round(v) for v in s4['on']]}, "
        f"off {[round(v) for v in s4['off']]}) |"
    )
    print(
        f"| machine | {os.cpu_count()} cores, load average at the end "
        f"{', '.join(f'{load:.1f}' for load in os.getloadavg())} |"
    )
    if on is None:
        return 0
    ok = on.missed == 0 and percentile(on.latencies_ms, 0.95) <= 1000 and on.write_errors == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
