"""Chromium settings and page helpers shared by the browser tests."""

import re

import pytest
from playwright.async_api import Page, expect

from tests.factories import session_token

# The `browser` and `ui_app` fixtures check for Chromium (a skip locally, a failure in CI).
needs_chromium = [pytest.mark.ui]


def at_path(path: str) -> re.Pattern[str]:
    """The page URL for `path`; static hosting may add a trailing slash."""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")


async def store_token(page: Page, token: str) -> None:
    """Put a token where the UI keeps it, as a returning visitor's browser would have it."""
    # Any same-origin document will do; the favicon is the cheapest one.
    await page.goto("/favicon.svg")
    await page.evaluate("token => localStorage.setItem('access_token', token)", token)


async def sign_in_as(page: Page, user_id: int, path: str = "/") -> None:
    """Open `path` already signed in (the login form has tests of its own)."""
    await store_token(page, await session_token(user_id))
    await page.goto(path)


async def log_in_with_form(page: Page, email: str, password: str) -> None:
    await page.goto("/login")
    await page.get_by_test_id("email-input").fill(email)
    await page.get_by_test_id("password-input").fill(password)
    await page.get_by_role("button", name="Log In").click()
    await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()


async def expect_toast(page: Page, text: str) -> None:
    await expect(page.get_by_text(text, exact=True).first).to_be_visible()


async def add_item(page: Page, title: str) -> None:
    """Add an item through the Items page's dialog and see its row appear."""
    await page.get_by_role("button", name="Add Item").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_placeholder("Title").fill(title)
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("tbody tr").filter(has_text=title)).to_be_visible()
