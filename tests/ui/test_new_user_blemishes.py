"""What a new user meets first (#26 part 6): a nameless account, the dashboard, the footer."""

from playwright.async_api import Page, expect

from app.core.config import settings
from tests.conftest import Account
from tests.ui.browser import needs_chromium, sign_in_as
from tests.ui.conftest import GITHUB_URL

pytestmark = needs_chromium


async def test_a_nameless_user_is_shown_by_their_email(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/")
    await expect(page.get_by_role("heading", name=f"Hi, {normal_user.email}")).to_be_visible()
    menu = page.get_by_test_id("user-menu")
    # The avatar's letter is the email's, not the template's "U" for everyone.
    await expect(menu).to_contain_text(normal_user.email[0].upper())
    await expect(menu).not_to_contain_text("N/A")
    # The email is the name here, so it shows once.
    await expect(menu.get_by_text(normal_user.email)).to_have_count(1)


async def test_the_greeting_draws_no_emoji(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/")
    heading = page.get_by_role("heading", name=f"Hi, {normal_user.email}")
    await expect(heading).to_be_visible()
    # An emoji needs a font this machine's Chromium (like many a server's) lacks.
    text = await page.locator("main").inner_text()
    assert not any(ord(char) >= 0x1F000 for char in text), text


async def test_dashboard_cards_are_the_same_height(page: Page, superuser: Account) -> None:
    await sign_in_as(page, superuser.id, "/")
    cards = page.locator("main .rt-Card")
    await expect(cards).to_have_count(3)
    # Across widths, some of which wrap one card's text to two lines and not the others'.
    uneven = []
    for width in range(800, 1480, 40):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.wait_for_timeout(50)
        boxes = [await cards.nth(index).bounding_box() for index in range(3)]
        rows: dict[int, set[int]] = {}
        for box in boxes:
            assert box is not None
            rows.setdefault(round(box["y"]), set()).add(round(box["height"]))
        uneven += [(width, heights) for heights in rows.values() if len(heights) > 1]
    assert not uneven, uneven


async def test_footer_links_only_the_configured_pages(page: Page) -> None:
    await page.goto("/login")
    footer = page.locator("footer")
    await expect(footer).to_contain_text(settings.PROJECT_NAME)
    github = footer.get_by_role("link", name="GitHub")
    await expect(github).to_have_attribute("href", GITHUB_URL)
    # X and LinkedIn have no URL in this run: no link to those sites' home pages.
    await expect(footer.get_by_role("link")).to_have_count(1)
