"""The Items page (template-contract §7, items.spec) plus server-side paging and search."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Locator, Page, expect
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Item
from tests.conftest import Account
from tests.ui.browser import expect_toast, needs_chromium, sign_in_as

pytestmark = needs_chromium


async def seed_items(
    session: AsyncSession, owner: Account, titles: list[str], description: str | None = None
) -> None:
    """Items created one second apart, in list order (so the last one is listed first)."""
    start = datetime.now(UTC) - timedelta(seconds=len(titles))
    session.add_all(
        Item(
            title=title,
            description=description,
            owner_id=owner.id,
            created_at=start + timedelta(seconds=number),
        )
        for number, title in enumerate(titles)
    )
    await session.commit()


def rows(page: Page) -> Locator:
    return page.locator("tbody tr")


async def open_row_menu(page: Page, text: str) -> None:
    # The actions button is the last button of the row.
    await rows(page).filter(has_text=text).get_by_role("button").last.click()


async def test_page_title_and_heading(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    await expect(page).to_have_title("Items - Full Stack Reflex")
    await expect(page.get_by_role("heading", name="Items", exact=True)).to_be_visible()
    await expect(page.get_by_text("Create and manage your items")).to_be_visible()
    await expect(page.get_by_role("button", name="Add Item")).to_be_visible()


async def test_the_actions_column_is_named_for_screen_readers(
    page: Page, normal_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, normal_user, ["Named"])
    await sign_in_as(page, normal_user.id, "/items")
    header = page.get_by_role("columnheader", name="Actions")
    await expect(header).to_have_count(1)
    # Named, not shown: the template's header is sr-only.
    box = await header.locator("span").bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1


async def test_empty_state_for_a_new_user(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    await expect(page.get_by_text("You don't have any items yet")).to_be_visible()
    await expect(page.get_by_text("Add a new item to get started")).to_be_visible()


async def test_create_an_item(page: Page, normal_user: Account, session: AsyncSession) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    await page.get_by_role("button", name="Add Item").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_text("Fill in the details to add a new item.")).to_be_visible()
    await dialog.get_by_placeholder("Title").fill("Playwright item")
    await dialog.get_by_placeholder("Description").fill("Made by a browser")
    await dialog.get_by_role("button", name="Save").click()
    await expect_toast(page, "Item created successfully")
    await expect(dialog).to_be_hidden()
    row = rows(page).filter(has_text="Playwright item")
    await expect(row).to_contain_text("Made by a browser")
    stored = (await session.exec(select(Item).where(Item.owner_id == normal_user.id))).all()
    assert [item.title for item in stored] == ["Playwright item"]


async def test_dialog_fields_are_the_only_ones_their_placeholders_find(
    page: Page, normal_user: Account
) -> None:
    # Browser tests written for the template fill fields by placeholder, unscoped; a
    # substring match must not also hit the search box behind the dialog.
    await sign_in_as(page, normal_user.id, "/items")
    await page.get_by_role("button", name="Add Item").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await expect(page.get_by_placeholder("Title")).to_have_count(1)
    await expect(page.get_by_placeholder("Description")).to_have_count(1)


async def test_create_with_only_a_title(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    await page.get_by_role("button", name="Add Item").click()
    await page.get_by_role("dialog").get_by_placeholder("Title").fill("Just a title")
    await page.get_by_role("dialog").get_by_role("button", name="Save").click()
    await expect_toast(page, "Item created successfully")
    await expect(rows(page).filter(has_text="Just a title")).to_contain_text("No description")


async def test_cancel_creation(page: Page, normal_user: Account, session: AsyncSession) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    await page.get_by_role("button", name="Add Item").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_placeholder("Title").fill("Never saved")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_text("You don't have any items yet")).to_be_visible()
    assert (await session.exec(select(Item))).all() == []


async def test_title_is_required(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    await page.get_by_role("button", name="Add Item").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_placeholder("Title").click()
    await dialog.get_by_placeholder("Description").click()
    await expect(dialog.get_by_text("Title is required")).to_be_visible()


async def test_edit_an_item(page: Page, normal_user: Account, session: AsyncSession) -> None:
    await seed_items(session, normal_user, ["Old title"], "Old description")
    await sign_in_as(page, normal_user.id, "/items")
    await open_row_menu(page, "Old title")
    await page.get_by_role("menuitem", name="Edit Item").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_text("Update the item details below.")).to_be_visible()
    await expect(dialog.get_by_placeholder("Title")).to_have_value("Old title")
    await dialog.get_by_placeholder("Title").fill("New title")
    await dialog.get_by_role("button", name="Save").click()
    await expect_toast(page, "Item updated successfully")
    await expect(rows(page).filter(has_text="New title")).to_contain_text("Old description")


async def test_delete_an_item(page: Page, normal_user: Account, session: AsyncSession) -> None:
    await seed_items(session, normal_user, ["Doomed item", "Survivor"])
    await sign_in_as(page, normal_user.id, "/items")
    await open_row_menu(page, "Doomed item")
    await page.get_by_role("menuitem", name="Delete Item").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_text("permanently deleted")).to_be_visible()
    await dialog.get_by_role("button", name="Delete").click()
    await expect_toast(page, "The item was deleted successfully")
    await expect(rows(page).filter(has_text="Doomed item")).to_have_count(0)
    await expect(rows(page)).to_have_count(1)


async def test_only_own_items_are_listed(
    page: Page, normal_user: Account, other_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, other_user, ["Not yours"])
    await seed_items(session, normal_user, ["Yours"])
    await sign_in_as(page, normal_user.id, "/items")
    await expect(rows(page)).to_have_count(1)
    await expect(rows(page).first).to_contain_text("Yours")


async def test_pages_through_more_than_a_hundred_items(
    page: Page, normal_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, normal_user, [f"Item {number:03}" for number in range(1, 124)])
    await sign_in_as(page, normal_user.id, "/items")
    summary = page.get_by_test_id("pagination-summary")
    await expect(summary).to_have_text("Showing 1 to 10 of 123 entries")
    await expect(rows(page)).to_have_count(10)
    await expect(rows(page).first).to_contain_text("Item 123")
    await expect(page.get_by_role("button", name="Go to first page")).to_be_disabled()
    await expect(page.get_by_role("button", name="Go to previous page")).to_be_disabled()

    await page.get_by_role("button", name="Go to next page").click()
    await expect(summary).to_have_text("Showing 11 to 20 of 123 entries")
    await expect(rows(page).first).to_contain_text("Item 113")

    await page.get_by_role("button", name="Go to last page").click()
    await expect(summary).to_have_text("Showing 121 to 123 of 123 entries")
    await expect(rows(page)).to_have_count(3)
    await expect(rows(page).last).to_contain_text("Item 001")
    await expect(page.get_by_role("button", name="Go to next page")).to_be_disabled()
    await expect(page.get_by_role("button", name="Go to last page")).to_be_disabled()

    await page.get_by_role("button", name="Go to previous page").click()
    await expect(summary).to_have_text("Showing 111 to 120 of 123 entries")
    await page.get_by_role("button", name="Go to first page").click()
    await expect(summary).to_have_text("Showing 1 to 10 of 123 entries")

    await page.get_by_role("combobox", name="Rows per page").click()
    await page.get_by_role("option", name="50").click()
    await expect(summary).to_have_text("Showing 1 to 50 of 123 entries")
    await expect(rows(page)).to_have_count(50)
    await page.get_by_role("button", name="Go to last page").click()
    await expect(summary).to_have_text("Showing 101 to 123 of 123 entries")
    await expect(page.get_by_text("Page 3 of 3")).to_be_visible()


async def test_the_page_is_in_the_address_and_survives_a_reload(
    page: Page, normal_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, normal_user, [f"Item {number:02}" for number in range(1, 26)])
    await sign_in_as(page, normal_user.id, "/items")
    summary = page.get_by_test_id("pagination-summary")
    await expect(summary).to_have_text("Showing 1 to 10 of 25 entries")
    await page.get_by_role("button", name="Go to next page").click()
    await expect(summary).to_have_text("Showing 11 to 20 of 25 entries")
    await expect(page).to_have_url(re.compile(r"/items/?\?page=2$"))

    await page.reload()
    await expect(summary).to_have_text("Showing 11 to 20 of 25 entries")
    await expect(rows(page).first).to_contain_text("Item 15")

    await page.get_by_role("button", name="Go to first page").click()
    await expect(summary).to_have_text("Showing 1 to 10 of 25 entries")
    await expect(page).to_have_url(re.compile(r"/items/?$"))


@pytest.mark.parametrize(
    ("address", "shown", "corrected"),
    [
        ("/items?page=99", "Showing 21 to 25 of 25 entries", r"/items/?\?page=3$"),
        ("/items?page=nonsense", "Showing 1 to 10 of 25 entries", r"/items/?$"),
        ("/items?page=-4", "Showing 1 to 10 of 25 entries", r"/items/?$"),
    ],
)
async def test_a_page_outside_the_table_shows_the_nearest_one(
    page: Page,
    normal_user: Account,
    session: AsyncSession,
    address: str,
    shown: str,
    corrected: str,
) -> None:
    await seed_items(session, normal_user, [f"Item {number:02}" for number in range(1, 26)])
    await sign_in_as(page, normal_user.id, address)
    await expect(page.get_by_test_id("pagination-summary")).to_have_text(shown)
    await expect(page).to_have_url(re.compile(corrected))


async def test_search_by_title_or_description(
    page: Page, normal_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, normal_user, ["Apple pie", "Banana bread"], "baked")
    await seed_items(session, normal_user, ["Cherry"], "a fruit, not baked")
    await seed_items(session, normal_user, [f"Filler {number}" for number in range(30)])
    await sign_in_as(page, normal_user.id, "/items")
    await expect(page.get_by_test_id("pagination-summary")).to_contain_text("of 33 entries")
    search = page.get_by_test_id("search-input")

    await search.fill("banana")
    await expect(rows(page)).to_have_count(1)
    await expect(rows(page).first).to_contain_text("Banana bread")

    await search.fill("FRUIT")
    await expect(rows(page)).to_have_count(1)
    await expect(rows(page).first).to_contain_text("Cherry")

    await search.fill("baked")
    await expect(rows(page)).to_have_count(3)

    await search.fill("nothing like this")
    await expect(page.get_by_text("No items found")).to_be_visible()

    await search.fill("")
    await expect(page.get_by_test_id("pagination-summary")).to_have_text(
        "Showing 1 to 10 of 33 entries"
    )
