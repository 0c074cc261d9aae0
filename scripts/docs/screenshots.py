"""Screenshot every page of the UI, light and dark, in Chromium; writes docs/images/ui-*.png.

.venv/bin/python scripts/docs/screenshots.py

Starts the app in prod mode (one port) on a throwaway SQLite database seeded with a
superuser, a few users and some items (scripts/docs/ui_app.py), then stops it.
"""

import asyncio
import subprocess
import sys

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

# Before any `app` import: it points the settings at a throwaway database.
from ui_app import ROOT, demo_sessions, running_app, seed_demo

from app.core.security import create_reset_token
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS

OUT = ROOT / "docs" / "images"
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 812}


def open_page(
    browser: Browser, url: str, mode: str, token: str | None, viewport: ViewportSize
) -> Page:
    context = browser.new_context(base_url=url, viewport=viewport)
    script = f"localStorage.setItem('theme', {mode!r});"
    if token:
        script += f"localStorage.setItem('access_token', {token!r});"
    context.add_init_script(script)
    return context.new_page()


def shoot(page: Page, path: str, ready: str, name: str) -> None:
    page.goto(path)
    page.get_by_text(ready, exact=False).first.wait_for()
    page.wait_for_timeout(600)  # fonts, transitions and the table's fade
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"wrote docs/images/{name}.png")


def take_all(browser: Browser, url: str, admin_token: str, reset_token: str) -> None:
    for mode in ("light", "dark"):
        public = open_page(browser, url, mode, None, DESKTOP)
        shoot(public, "/login", "Login to your account", f"ui-login-{mode}")
        shoot(public, "/signup", "Create an account", f"ui-signup-{mode}")
        shoot(public, "/recover-password", "Password Recovery", f"ui-recover-password-{mode}")
        shoot(
            public,
            f"/reset-password?token={reset_token}",
            "New Password",
            f"ui-reset-password-{mode}",
        )
        shoot(public, "/no-such-page", "Oops!", f"ui-not-found-{mode}")
        public.context.close()

        page = open_page(browser, url, mode, admin_token, DESKTOP)
        shoot(page, "/", "Welcome back", f"ui-dashboard-{mode}")
        shoot(page, "/items", "Showing 1 to 10", f"ui-items-{mode}")
        page.get_by_role("button", name="Add Item").click()
        page.get_by_role("dialog").wait_for()
        page.wait_for_timeout(400)
        page.screenshot(path=str(OUT / f"ui-items-add-{mode}.png"))
        print(f"wrote docs/images/ui-items-add-{mode}.png")
        shoot(page, "/admin", "katherine@example.com", f"ui-admin-{mode}")
        shoot(page, "/settings", "User Information", f"ui-settings-{mode}")
        page.get_by_role("tab", name="Password").click()
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / f"ui-settings-password-{mode}.png"))
        print(f"wrote docs/images/ui-settings-password-{mode}.png")
        page.get_by_role("tab", name="Sessions").click()
        page.get_by_text("This device").wait_for()
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / f"ui-settings-sessions-{mode}.png"))
        print(f"wrote docs/images/ui-settings-sessions-{mode}.png")
        page.context.close()

        phone = open_page(browser, url, mode, None, PHONE)
        shoot(phone, "/login", "Login to your account", f"ui-login-mobile-{mode}")
        phone.context.close()
        phone = open_page(browser, url, mode, admin_token, PHONE)
        shoot(phone, "/items", "Showing 1 to 10", f"ui-items-mobile-{mode}")
        phone.get_by_role("button", name="Open menu").click()
        phone.get_by_role("dialog").wait_for()
        phone.wait_for_timeout(500)
        phone.screenshot(path=str(OUT / f"ui-menu-mobile-{mode}.png"))
        print(f"wrote docs/images/ui-menu-mobile-{mode}.png")
        phone.context.close()


def has_emoji_font() -> bool:
    """Whether fontconfig knows a colour emoji font: without one, Chromium draws the
    dashboard greeting's wave as an empty box."""
    found = subprocess.run(
        ["fc-list", ":charset=1f44b"], capture_output=True, text=True, check=False
    ).stdout
    return bool(found.strip())


def main() -> int:
    if not has_emoji_font():
        print("No emoji font: apt-get install fonts-noto-color-emoji", file=sys.stderr)  # noqa: T201
        return 1
    admin_id, normal_id = asyncio.run(seed_demo())
    admin_token = asyncio.run(demo_sessions(admin_id))
    OUT.mkdir(parents=True, exist_ok=True)
    with running_app() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        take_all(browser, url, admin_token, create_reset_token(normal_id))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
