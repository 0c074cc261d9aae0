"""Time the Items page in Chromium: navigation to a filled table, and a page change.

.venv/bin/python scripts/ui_timings.py [--runs 20] [--items 5000]

The app runs in prod mode on a throwaway SQLite database (scripts/ui_app.py) where the
superuser owns `--items` items (plus the demo ones). Times are taken in the browser
(performance.now()), and the median, minimum and maximum of the runs are printed.
"""

import argparse
import asyncio
import statistics
import sys

from playwright.sync_api import Page, expect, sync_playwright

# Before any `app` import: it points the settings at a throwaway database.
from ui_app import running_app, seed_demo

from app.core.security import create_access_token
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS

FIRST_ROW = "tbody tr td >> nth=1"
# Resolves when the pager summary reads `expected`, with the ms since the click.
CLICK_AND_WAIT = """
async (expected) => {
  const summary = () => document.querySelector('[data-testid="pagination-summary"]');
  const start = performance.now();
  document.querySelector('button[aria-label="Go to next page"]').click();
  return await new Promise((resolve) => {
    const check = () => {
      if (summary()?.textContent === expected) {
        observer.disconnect();
        resolve(performance.now() - start);
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    check();
  });
}
"""


def navigation_times(page: Page, runs: int) -> list[float]:
    """Full page loads of /items: from navigation start until the first row shows."""
    times = []
    for _ in range(runs):
        page.goto("/items")
        page.locator(FIRST_ROW).wait_for()
        times.append(float(page.evaluate("performance.now()")))
    return times


def in_app_navigation_times(page: Page, runs: int) -> list[float]:
    """Client-side navigation: a click on the sidebar's Items link until rows show."""
    times = []
    for _ in range(runs):
        page.get_by_role("link", name="Dashboard", exact=True).click()
        page.get_by_text("Welcome back").wait_for()
        start = float(page.evaluate("performance.now()"))
        page.get_by_role("link", name="Items", exact=True).click()
        page.locator(FIRST_ROW).wait_for()
        times.append(float(page.evaluate("performance.now()")) - start)
    return times


def next_page_times(page: Page, runs: int, total: int) -> list[float]:
    """Clicks on "Go to next page" until the table shows the next rows."""
    page.goto("/items")
    page.locator(FIRST_ROW).wait_for()
    times = []
    next_button = page.get_by_role("button", name="Go to next page")
    for number in range(runs):
        expect(next_button).to_be_enabled()
        first = (number + 1) * 10 + 1
        expected = f"Showing {first} to {min(first + 9, total)} of {total} entries"
        times.append(float(page.evaluate(CLICK_AND_WAIT, expected)))
    return times


def report(name: str, times: list[float]) -> None:
    print(
        f"{name}: median {statistics.median(times):.0f} ms "
        f"(min {min(times):.0f}, max {max(times):.0f}, n={len(times)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--items", type=int, default=5000)
    args = parser.parse_args()
    admin_id, _ = asyncio.run(seed_demo(extra_items=args.items))
    total = args.items + 36
    with running_app() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=url, viewport={"width": 1440, "height": 900})
        token = create_access_token(admin_id)
        context.add_init_script(f"localStorage.setItem('access_token', {token!r})")
        page = context.new_page()
        # One warm-up load: the first visit also fills the server's caches.
        page.goto("/items")
        page.locator(FIRST_ROW).wait_for()
        print(f"{total} items, Chromium {browser.version}, {url}")
        report("navigation to a filled items table (page load)", navigation_times(page, args.runs))
        report(
            "in-app navigation to a filled items table", in_app_navigation_times(page, args.runs)
        )
        report("next page click to the updated table", next_page_times(page, args.runs, total))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
