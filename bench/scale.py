"""Data at scale (issue #12): list pages, searches and deep pages on a million rows,
create-item throughput with the counters kept, and the UI's table on the big account.

Run through `bench/run.sh --scale` (hold `flock /tmp/bench.lock` while it runs). The big
database (`--database`, default `bench_scale`) is seeded once by bench/seed.py and kept:
later runs reuse it while it still holds the planned rows. Every figure is the median
of `--runs`; reads are measured interleaved with the same request on a database of 100
rows (its own backend), so the ratio is what to read on a shared machine. Backends are
started as production starts them (prestart, then `reflex run --env prod
--backend-only`, one worker).
"""

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bcrypt
import httpx
import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench import (  # noqa: E402
    DATABASE_SERVER,
    Load,
    Server,
    backend_env,
    bearer,
    create_database,
    drain,
    drop_database,
    login,
    lua_post,
    measure,
    seed,
    start_app,
    start_backend,
    stop,
)
from bench.seed import OWNER_EMAIL, OWNER_PASSWORD, RARE_WORD, Plan, load  # noqa: E402
from bench.ui import logged_in_page, timed_click  # noqa: E402

if TYPE_CHECKING:
    from playwright.async_api import Page

ADMIN_EMAIL = "admin@example.com"
# Fixed: the big database is kept between runs, with the superuser prestart made in it.
ADMIN_PASSWORD = "scale-admin-password"
API = "/api/v1"


def conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(server: str, name: str) -> str:
    parsed = make_url(server).set(drivername="postgresql+psycopg", database=name)
    return parsed.render_as_string(hide_password=False)


def holds(url: str, plan: Plan) -> bool:
    """Whether the database at `url` exists and holds `plan`'s rows (counted exactly)."""
    try:
        with psycopg.connect(conninfo(url)) as connection:
            # sum() of a bigint is a numeric: Decimal.
            totals: dict[str, Decimal] = dict(
                connection.execute("SELECT table_name, sum(n) FROM row_total GROUP BY 1").fetchall()
            )
            owned = connection.execute(
                'SELECT sum(c.n) FROM item_count c JOIN "user" u ON u.id = c.owner_id'
                " WHERE u.email = %s",
                (plan.owner_email,),
            ).fetchone()
    except psycopg.Error:
        return False
    return (
        totals.get("item") == plan.items
        and (totals.get("user") or 0) >= plan.users
        and owned is not None
        and owned[0] == plan.owner_items
    )


def prepare_big(server: str, name: str, plan: Plan, reseed: bool) -> str:
    url = database_url(server, name)
    if not reseed and holds(url, plan):
        print(f"# reusing {name}", flush=True)
        return url
    with psycopg.connect(conninfo(database_url(server, "postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    print(f"# seeding {name}: {plan}", flush=True)
    load(url, plan)
    return url


def scale_env(url: str) -> dict[str, str]:
    """A benchmarked backend on `url`, with the superuser the kept big database holds."""
    return backend_env(
        url,
        SECRET_KEY="scale-bench-secret-key-scale-bench-secret-key",
        FIRST_SUPERUSER=ADMIN_EMAIL,
        FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        # The 256-creator run logs in 100 owners: no limit may refuse the benchmark.
        RATE_LIMITS_ENABLED="false",
    )


# Reads ---------------------------------------------------------------------------


@dataclass
class Read:
    label: str
    path: str
    who: str  # "owner" or "admin"
    target: str
    check: Callable[[float, float], bool]


def within_twice(big: float, small: float) -> bool:
    return big <= 2 * small


TWICE = "≤ 2× 100 rows"
READS = [
    Read("owner's items, first page", "/items/?limit=100", "owner", TWICE, within_twice),
    Read("all items (superuser), first page", "/items/?limit=100", "admin", TWICE, within_twice),
    Read("users (admin), first page", "/users/?limit=100", "admin", TWICE, within_twice),
    Read(f"owner's items, q={RARE_WORD} (rare word)", f"/items/?limit=100&q={RARE_WORD}", "owner",
         "≤ 50 ms", lambda big, _: big <= 50),
    Read("owner's items, skip=900000", "/items/?limit=100&skip=900000", "owner", "≤ 200 ms",
         lambda big, _: big <= 200),
    Read("owner's items, skip=500000 (the middle, worst)", "/items/?limit=100&skip=500000",
         "owner", "—", lambda big, _: True),
]  # fmt: skip


def timed_get(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(f"{API}{path}", headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.json()


def measure_reads(big: Server, small: Server, runs: int) -> list[str]:
    tokens = {
        (server.url, who): bearer(login(server.url, email, password))
        for server in (big, small)
        for who, email, password in (
            ("owner", OWNER_EMAIL, OWNER_PASSWORD),
            ("admin", ADMIN_EMAIL, ADMIN_PASSWORD),
        )
    }
    lines = [
        "| request | 100 rows ms | 1M rows ms | ratio | count at scale | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    with (
        httpx.Client(base_url=big.url, timeout=60) as big_client,
        httpx.Client(base_url=small.url, timeout=60) as small_client,
    ):
        for read in READS:
            times: dict[str, list[float]] = {"big": [], "small": []}
            count = 0
            for run in range(runs + 1):
                # Interleaved, so a busy moment of the machine weighs on both sides.
                big_ms, body = timed_get(big_client, read.path, tokens[(big.url, read.who)])
                small_ms, _ = timed_get(small_client, read.path, tokens[(small.url, read.who)])
                count = body["count"]
                if run:  # the first request of each warms the backend's statement cache
                    times["big"].append(big_ms)
                    times["small"].append(small_ms)
            b, s = statistics.median(times["big"]), statistics.median(times["small"])
            met = "yes" if read.check(b, s) else "**no**"
            lines.append(
                f"| GET {read.path} ({read.label}) | {s:.1f} | {b:.1f} | {b / s:.2f}× "
                f"| {count} | {read.target} | {met} |"
            )
    return lines


# Writes --------------------------------------------------------------------------

OWNERS = 100


def add_owners(url: str, count: int) -> list[tuple[str, str]]:
    """`count` accounts written straight to the database (a cheap hash: logging them in
    is not what is measured)."""
    password = "creator-password"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    emails = [f"creator{n}@scale.example.com" for n in range(count)]
    with psycopg.connect(conninfo(url)) as connection, connection.cursor() as cursor:
        cursor.executemany(
            'INSERT INTO "user" (email, is_active, is_superuser, hashed_password, created_at,'
            " updated_at, password_changed_at) VALUES (%s, true, false, %s, now(), now(), now())",
            [(email, hashed) for email in emails],
        )
    return [(email, password) for email in emails]


def rotating_tokens_script(folder: Path, name: str, headers: list[dict[str, str]]) -> Path:
    """wrk script: POST /items/, each request as the next of `headers`' users."""
    tokens = ", ".join(json.dumps(h["Authorization"]) for h in headers)
    body = json.dumps(json.dumps({"title": "Created by wrk", "description": "Load test"}))
    path = folder / f"{name}.lua"
    path.write_text(
        f"tokens = {{{tokens}}}\n"
        "counter = math.random(#tokens)\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        "  local headers = {}\n"
        '  headers["Content-Type"] = "application/json"\n'
        '  headers["Authorization"] = tokens[(counter % #tokens) + 1]\n'
        f'  return wrk.format("POST", nil, headers, {body})\n'
        "end\n"
    )
    return path


def counts_exact(url: str) -> tuple[bool, int, int]:
    """(counters equal count(*) per owner and in all, deadlocks, items), all read in one
    snapshot."""
    with psycopg.connect(conninfo(url)) as connection:
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        true: dict[int, int] = dict(
            connection.execute("SELECT owner_id, count(*) FROM item GROUP BY 1").fetchall()
        )
        kept: dict[int, Decimal] = dict(
            connection.execute(
                "SELECT owner_id, sum(n) FROM item_count GROUP BY 1 HAVING sum(n) <> 0"
            ).fetchall()
        )
        total = connection.execute(
            "SELECT sum(n) FROM row_total WHERE table_name = 'item'"
        ).fetchone()
        deadlocks = connection.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    items = sum(true.values())
    exact = kept == true and total is not None and total[0] == items
    return exact, int(deadlocks[0] if deadlocks else 0), items


def measure_writes(server_url: str, work: Path, duration: int, rounds: int) -> list[str]:
    """S4 and 256 creators over 100 owners, without counters (revision 0001, today's
    schema) and with them (head), interleaved."""
    from alembic import command
    from app.prestart import alembic_config

    urls = {"before": create_database(server_url), "after": create_database(server_url)}
    servers: dict[str, Server] = {}
    results: dict[tuple[str, str], list[Any]] = {}
    lines: list[str] = []
    try:
        for variant, url in urls.items():
            servers[variant] = start_backend(scale_env(url), work, 1)
        # The backend checks the revision only at startup; the variant without counters
        # is the schema before this issue, on the same code.
        command.downgrade(alembic_config(urls["before"]), "0001")
        loads: dict[tuple[str, str], Load] = {}
        for variant, server in servers.items():
            accounts = add_owners(urls[variant], OWNERS)
            creators = [bearer(login(server.url, email, password)) for email, password in accounts]
            single = creators[0]
            loads[(variant, "S4")] = Load(
                f"{server.url}{API}/items/",
                lua_post(
                    work,
                    f"create-{variant}",
                    json.dumps({"title": "Created by wrk", "description": "Load test"}),
                    "application/json",
                ),
                headers=single,
            )
            loads[(variant, "256")] = Load(
                f"{server.url}{API}/items/",
                rotating_tokens_script(work, f"creators-{variant}", creators),
            )
        for _ in range(rounds):
            for variant in ("before", "after"):
                for key, conns in (("S4", 32), ("256", 256)):
                    print(f"# {variant}: {key} at {conns} connections", flush=True)
                    result = measure(
                        key, loads[(variant, key)], servers[variant], conns, duration, 2
                    )
                    results.setdefault((variant, key), []).append(result)
        # Requests wrk abandoned at its end are still being answered: let them finish.
        drain(servers["after"])
        exact, deadlocks, items = counts_exact(urls["after"])
        lines += [
            "| create item (POST /items/) | conns | owners | without counters req/s "
            "| with counters req/s | ratio | errors (without / with) |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, conns, owners in (("S4", 32, 1), ("256", 256, OWNERS)):
            before = statistics.median(r.rps for r in results[("before", key)])
            after = statistics.median(r.rps for r in results[("after", key)])
            errors_before = sum(r.errors for r in results[("before", key)])
            errors_after = sum(r.errors for r in results[("after", key)])
            lines.append(
                f"| {'S4' if key == 'S4' else 'creators'} | {conns} | {owners} | {before:.0f} "
                f"| {after:.0f} | {after / before:.2f}× | {errors_before} / {errors_after} |"
            )
        lines.append("")
        lines.append(
            f"With counters, after the runs: counters equal count(*) per owner and in all: "
            f"{'yes' if exact else '**NO**'} ({items} items); deadlocks: {deadlocks}."
        )
    finally:
        for server in servers.values():
            stop(server)
        for url in urls.values():
            drop_database(url)
    return lines


# UI ------------------------------------------------------------------------------


@dataclass
class Table:
    """The Items page of one account in its own browser page (page size 10)."""

    page: "Page"
    base: str
    total: int
    deep: int  # a page far from both ends, reached through ?page=

    async def open(self, page_number: int = 1) -> float:
        started = time.perf_counter()
        query = f"?page={page_number}" if page_number > 1 else ""
        await self.page.goto(f"{self.base}/items{query}")
        await self.showing(10 * (page_number - 1) + 1)
        await self.page.get_by_role("row").nth(10).wait_for()
        return (time.perf_counter() - started) * 1000

    def summary(self, first: int) -> str:
        return f"Showing {first} to {min(first + 9, self.total)} of {self.total} entries"

    async def showing(self, first: int) -> None:
        await (
            self.page.get_by_test_id("pagination-summary")
            .filter(has_text=self.summary(first))
            .wait_for()
        )

    async def click(self, label: str, first: int) -> float:
        return await timed_click(self.page, label, self.summary(first))

    async def one_run(self) -> dict[str, float]:
        """Milliseconds of each measured step, in the order a user takes them."""
        times = {"navigation": await self.open()}
        times["next"] = await self.click("Go to next page", 11)
        # A page number in the address lands on that page's rows.
        await self.open(self.deep)
        times["next_deep"] = await self.click("Go to next page", 10 * self.deep + 1)
        await self.open(self.deep)
        times["last"] = await self.click("Go to last page", 10 * ((self.total - 1) // 10) + 1)
        return times


UI_STEPS = [
    ("navigation", "navigation to /items → filled table", 1000),
    ("next", "next page, from page 1", 100),
    ("next_deep", "next page, from page 10,000 (5 of 10 pages at 100 rows)", 100),
    ("last", "page 10,000 (5) → last page", 300),
]


async def ui_timings(
    base: str, tokens: dict[str, str], totals: dict[str, int], runs: int
) -> list[str]:
    """Each step for the owner of the big table and for a user with 100 items,
    interleaved run by run."""
    times: dict[str, dict[str, list[float]]] = {who: {} for who in tokens}
    async with contextlib.AsyncExitStack() as stack:
        tables = {
            who: Table(
                await stack.enter_async_context(logged_in_page(base, token)),
                base,
                totals[who],
                10_000 if totals[who] >= 200_000 else 5,
            )
            for who, token in tokens.items()
        }
        for run in range(runs + 1):
            for who, table in tables.items():
                measured = await table.one_run()
                if run:  # the first run warms the browser cache and the backend
                    for step, value in measured.items():
                        times[who].setdefault(step, []).append(value)
    big = max(totals, key=lambda who: totals[who])
    small = min(totals, key=lambda who: totals[who])
    lines = [
        f"| UI (medians of {runs}) | {totals[small]} items ms | {totals[big]:,} items ms "
        "| ratio | max at scale ms | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for step, label, limit in UI_STEPS:
        s, b = statistics.median(times[small][step]), statistics.median(times[big][step])
        met = "yes" if b <= limit else "**no**"
        lines.append(
            f"| {label} | {s:.0f} | {b:.0f} | {b / s:.2f}× | {max(times[big][step]):.0f} "
            f"| ≤ {limit} ms | {met} |"
        )
    return lines


def measure_ui(url: str, work: Path, runs: int, total: int) -> list[str]:
    server = start_app(scale_env(url), work)
    small: dict[str, str] = {}
    try:
        # A user with 100 items in the same database: the reference, measured in turn.
        _, _, token = seed(server.url, 100)
        small = bearer(token)
        tokens = {"owner": login(server.url, OWNER_EMAIL, OWNER_PASSWORD), "small": token}
        return asyncio.run(ui_timings(server.url, tokens, {"owner": total, "small": 100}, runs))
    finally:
        if small:
            # The big database is kept: it goes back to the rows it was seeded with.
            httpx.delete(f"{server.url}{API}/users/me", headers=small, timeout=60)
        stop(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--owner-items", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_scale")
    parser.add_argument("--reseed", action="store_true", help="seed the big database again")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--duration", type=int, default=10, help="seconds per create-item run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved create-item rounds")
    parser.add_argument("--parts", default="reads,writes,ui")
    parser.add_argument(
        "--database-server",
        default=DATABASE_SERVER,
    )
    args = parser.parse_args()
    parts = {part.strip() for part in args.parts.split(",")}
    plan = Plan(args.users, args.items, args.owner_items)
    work = Path(tempfile.mkdtemp(prefix="fsr-scale-"))
    big_url = prepare_big(args.database_server, args.database, plan, args.reseed)
    output: list[str] = []

    if "reads" in parts:
        small_url = create_database(args.database_server)
        servers: list[Server] = []
        try:
            load(small_url, Plan(100, 100, 100))
            for url in (big_url, small_url):
                servers.append(start_backend(scale_env(url), work, 1))
            output += measure_reads(servers[0], servers[1], args.runs) + [""]
        finally:
            for server in servers:
                stop(server)
            drop_database(small_url)
    if "writes" in parts:
        output += measure_writes(args.database_server, work, args.duration, args.rounds) + [""]
    if "ui" in parts:
        output += measure_ui(big_url, work, args.runs, args.owner_items)

    print()
    print(
        f"{args.users:,} users, {args.items:,} items ({args.owner_items:,} of one owner), "
        f"PostgreSQL, one backend worker; medians of {args.runs} (reads interleaved with the "
        f"100-row database), create-item runs {args.duration} s × {args.rounds} rounds interleaved."
    )
    print()
    print("\n".join(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
