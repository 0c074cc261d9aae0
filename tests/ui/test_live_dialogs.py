"""What a user sees when a row of the open table changes elsewhere (the REST API of the
same app): the edit dialog says so, and closes with a toast when the row is deleted."""

import httpx
from playwright.async_api import Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.ui.state.items import ItemsState
from app.ui.table.dialogs import CHANGED_ELSEWHERE
from tests.conftest import Account
from tests.ui.browser import expect_toast, needs_chromium, sign_in_as
from tests.ui.conftest import UiApp
from tests.ui.test_items import open_row_menu, rows, seed_items

pytestmark = needs_chromium


async def test_an_edit_dialog_follows_its_row_changed_then_deleted_elsewhere(
    page: Page, ui_app: UiApp, normal_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, normal_user, ["Shared row"])
    await sign_in_as(page, normal_user.id, "/items")
    await open_row_menu(page, "Shared row")
    await page.get_by_role("menuitem", name="Edit Item").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_placeholder("Title")).to_have_value("Shared row")
    await expect(dialog.get_by_test_id("changed-elsewhere")).to_have_count(0)
    item_id = int(await rows(page).first.locator("code").inner_text())

    async with httpx.AsyncClient(
        base_url=f"{ui_app.url}{settings.API_V1_STR}", headers=normal_user.headers, timeout=30
    ) as api:
        changed = await api.put(f"/items/{item_id}", json={"title": "Changed in another tab"})
        assert changed.status_code == 200, changed.text
        await expect(dialog.get_by_test_id("changed-elsewhere")).to_have_text(CHANGED_ELSEWHERE)
        # The table behind it already shows the new title; the form keeps the user's draft.
        await expect(rows(page).filter(has_text="Changed in another tab")).to_have_count(1)
        await expect(dialog.get_by_placeholder("Title")).to_have_value("Shared row")

        deleted = await api.delete(f"/items/{item_id}")
        assert deleted.status_code == 200, deleted.text
    await expect(dialog).to_be_hidden()
    await expect_toast(page, ItemsState._entity.deleted_elsewhere)
    await expect(rows(page)).to_have_count(0)
