"""UI benchmark: page timings in Chromium, and how many live sessions one backend holds.

Run through `bench/run.sh --ui` (or directly, after `source scripts/env.sh`):

1. Timings (Playwright, Debian's Chromium, median of 20): from navigation to `/items`
   to a filled table, and from a click on "next page" to the updated table.
2. Sessions: N socket.io clients speak Reflex's own protocol to one backend process
   (hydrate with the stored token, then the items page's `load_page` event once a
   second each, for 60 s); event round trips (p50, p99), errors, peak RSS.

The app is started as production starts it (`reflex run --env prod`, one port) on a
fresh PostgreSQL database with a user owning 100 items.
"""

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import socketio

if TYPE_CHECKING:
    from playwright.async_api import Page

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench import (  # noqa: E402
    DATABASE_SERVER,
    Sampler,
    Server,
    backend_env,
    create_database,
    drop_database,
    seed,
    start_app,
    stop,
)
from devtools import reflex_socket  # noqa: E402
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from devtools.reflex_socket import ROOT_STATE  # noqa: E402

# Reflex's names of the app's states, written out: importing the app here would load its
# settings from this shell. tests/bench/test_wire_names.py keeps them in step.
AUTH_STATE = f"{ROOT_STATE}.app___ui___state___auth____auth_state"
ITEMS_STATE = f"{AUTH_STATE}.app___ui___state___items____items_state"
TOKEN_VAR = f"{AUTH_STATE}.access_token_rx_state_"


# A click's latency as its user sees it: from the click, dispatched in the page, to the
# first frame after the pagination summary says `text`. Playwright's own click() adds its
# actionability checks (scrolled into view, stable over two frames, receives events) and
# protocol round trips: about 70 ms on this machine that no user waits for.
CLICK_UNTIL_SHOWING = """async ([label, text]) => {
  const summary = document.querySelector('[data-testid="pagination-summary"]');
  const button = document.querySelector(`button[aria-label="${label}"]`);
  if (!summary || !button) throw new Error(`no summary or no "${label}" button`);
  return await new Promise((resolve, reject) => {
    const started = performance.now();
    const timeout = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`"${text}" not shown after 30 s`));
    }, 30000);
    const observer = new MutationObserver(() => {
      if (!summary.textContent.includes(text)) return;
      observer.disconnect();
      clearTimeout(timeout);
      requestAnimationFrame(() => resolve(performance.now() - started));
    });
    observer.observe(summary, { subtree: true, childList: true, characterData: true });
    button.click();
  });
}"""


async def timed_click(page: "Page", label: str, text: str) -> float:
    """Milliseconds from a click on the button labelled `label` to the frame that shows
    `text` in the pagination summary."""
    elapsed: float = await page.evaluate(CLICK_UNTIL_SHOWING, [label, text])
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextlib.asynccontextmanager
async def logged_in_page(base: str, token: str) -> AsyncIterator["Page"]:
    """A Chromium page of the app at `base`, with `token` stored as the session."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1440, "height": 900})
        page = await context.new_page()
        await page.goto(f"{base}/login")
        await page.evaluate("token => localStorage.setItem('access_token', token)", token)
        yield page
        await browser.close()


async def page_timings(
    base: str, token: str, runs: int
) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds: navigation → filled table, and next-page click → updated table, as
    the page sees it and through Playwright's click (alternating)."""
    navigation: list[float] = []
    clicks: list[float] = []
    driven: list[float] = []
    async with logged_in_page(base, token) as page:
        summary = page.get_by_test_id("pagination-summary")
        for run in range(runs + 1):
            started = time.perf_counter()
            await page.goto(f"{base}/items")
            await summary.filter(has_text="Showing 1 to 10 of 100 entries").wait_for()
            await page.get_by_role("row").nth(10).wait_for()
            if run:  # the first load warms the browser cache
                navigation.append((time.perf_counter() - started) * 1000)
        for run in range(2 * runs):
            first = 10 * (run % 9) + 11
            showing = f"Showing {first} to {first + 9} of 100"
            if run % 2:
                started = time.perf_counter()
                await page.get_by_role("button", name="Go to next page").click()
                await summary.filter(has_text=showing).wait_for()
                driven.append((time.perf_counter() - started) * 1000)
            else:
                clicks.append(await timed_click(page, "Go to next page", showing))
            if run % 9 == 8:
                await page.get_by_role("button", name="Go to first page").click()
                await summary.filter(has_text="Showing 1 to 10 of 100").wait_for()
    return navigation, clicks, driven


@dataclass
class SessionStats:
    round_trips: list[float] = field(default_factory=list)
    errors: int = 0
    connected: int = 0


async def one_session(
    base: str, token: str, seconds: float, stats: SessionStats, start_at: float
) -> None:
    """One browser tab's worth of traffic, through Reflex's socket.io protocol."""
    client: socketio.AsyncClient | None = None
    pending: asyncio.Queue[float] = asyncio.Queue()
    sent_at: list[float] = []

    async def on_update(update: dict[str, Any]) -> None:
        # An event's answer is the update that carries the page's rows.
        rows_arrived = "rows_rx_state_" in update.get("delta", {}).get(ITEMS_STATE, {})
        if rows_arrived and sent_at:
            await pending.put((time.perf_counter() - sent_at.pop(0)) * 1000)

    try:
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        sent_at.append(time.perf_counter())
        client = await reflex_socket.connect(
            base, str(uuid.uuid4()), "/items", {TOKEN_VAR: token}, on_update
        )
        stats.connected += 1
        await asyncio.wait_for(pending.get(), 30)  # hydrated
        deadline = time.perf_counter() + seconds
        page = 1
        while time.perf_counter() < deadline:
            tick = time.perf_counter()
            page = page % 10 + 1
            sent_at.append(tick)
            await reflex_socket.send(client, f"{ITEMS_STATE}.load_page", {"page": page}, "/items")
            try:
                stats.round_trips.append(await asyncio.wait_for(pending.get(), 10))
            except TimeoutError:
                stats.errors += 1
                sent_at.clear()
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - tick)))
    except Exception:
        stats.errors += 1
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()


async def sessions(base: str, token: str, count: int, seconds: float) -> SessionStats:
    stats = SessionStats()
    # Connections ramp up over 5 s, as tabs would, not in one burst.
    now = time.perf_counter()
    await asyncio.gather(
        *(one_session(base, token, seconds, stats, now + 5 * n / count) for n in range(count))
    )
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--database-server",
        default=DATABASE_SERVER,
    )
    args = parser.parse_args()

    database = create_database(args.database_server)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"fsr-ui-bench-{secrets.token_hex(3)}"
    work.mkdir()
    # GRANIAN_WORKERS as the shell has it: the whole app, as `reflex run --env prod` runs it.
    env = backend_env(database, workers=None)
    server: Server | None = None
    try:
        server = start_app(env, work)
        _, _, token = seed(server.url, 100)
        print(f"# page timings, {args.runs} runs", flush=True)
        navigation, clicks, driven = asyncio.run(page_timings(server.url, token, args.runs))
        print(
            f"# {args.sessions} sessions, one event a second for {args.seconds:.0f} s", flush=True
        )
        sampler = Sampler(server)
        with sampler.measure():
            stats = asyncio.run(sessions(server.url, token, args.sessions, args.seconds))
    finally:
        if server:
            stop(server)
        drop_database(database)

    print()
    print("| UI measure | value |")
    print("|---|---|")
    print(
        f"| navigation → filled items table (median / p90 of {len(navigation)}) "
        f"| {statistics.median(navigation):.0f} ms / {percentile(navigation, 0.9):.0f} ms |"
    )
    print(
        f"| next-page click → updated table (median / p90 of {len(clicks)}) "
        f"| {statistics.median(clicks):.0f} ms / {percentile(clicks, 0.9):.0f} ms |"
    )
    print(
        f"| the same click through Playwright (its actionability checks included) "
        f"| {statistics.median(driven):.0f} ms / {percentile(driven, 0.9):.0f} ms |"
    )
    p50, p99 = percentile(stats.round_trips, 0.5), percentile(stats.round_trips, 0.99)
    print(
        f"| {args.sessions} sessions × 1 event/s for {args.seconds:.0f} s: events, "
        f"p50 / p99 round trip | {len(stats.round_trips)}, {p50:.0f} ms / {p99:.0f} ms |"
    )
    print(f"| sessions connected / errors | {stats.connected} / {stats.errors} |")
    print(
        f"| peak server RSS (largest process) | {sampler.peak_total / 2**20:.0f} MiB "
        f"({sampler.peak_worker / 2**20:.0f} MiB) |"
    )
    return 0 if stats.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
