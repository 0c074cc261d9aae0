"""The Admin page (template-contract §7, admin.spec): superusers manage accounts."""

from playwright.async_api import Locator, Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import UserCreate
from app.services import users
from tests.conftest import Account
from tests.factories import random_email
from tests.ui.browser import at_path, expect_toast, needs_chromium, sign_in_as

pytestmark = needs_chromium


def row(page: Page, text: str) -> Locator:
    return page.locator("tbody tr").filter(has_text=text)


async def open_add_user(page: Page) -> Locator:
    await page.get_by_role("button", name="Add User").click()
    dialog = page.get_by_role("dialog")
    await expect(
        dialog.get_by_text("Fill in the form below to add a new user to the system.")
    ).to_be_visible()
    return dialog


async def fill_new_user(
    dialog: Locator, email: str, password: str = "changethis", confirmation: str | None = None
) -> None:
    await dialog.get_by_placeholder("Email").fill(email)
    await dialog.get_by_placeholder("Full name").fill("Test User")
    await dialog.get_by_placeholder("Password").first.fill(password)
    await dialog.get_by_placeholder("Password").last.fill(
        password if confirmation is None else confirmation
    )


async def test_heading_and_add_button(page: Page, superuser: Account) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    await expect(page).to_have_title("Admin - Full Stack Reflex")
    await expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    await expect(page.get_by_text("Manage user accounts and permissions")).to_be_visible()
    await expect(page.get_by_role("button", name="Add User")).to_be_visible()


async def test_own_row_is_marked_and_has_no_actions(page: Page, superuser: Account) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    mine = row(page, superuser.email)
    await expect(mine).to_contain_text("You")
    await expect(mine).to_contain_text("Superuser")
    await expect(mine).to_contain_text("Active")
    await expect(mine.get_by_role("button")).to_have_count(0)


async def test_search_by_email_or_name_then_page_through_all(
    page: Page, superuser: Account, normal_user: Account, session: AsyncSession
) -> None:
    for number in range(12):
        await users.create_user(
            session,
            UserCreate(email=f"crew{number:02}@ship.example", password="x" * 8, full_name="Crew"),
        )
    await sign_in_as(page, superuser.id, "/admin")
    summary = page.get_by_test_id("pagination-summary")
    await expect(summary).to_have_text("Showing 1 to 10 of 14 entries")
    search = page.get_by_test_id("search-input")

    await search.fill(normal_user.email.upper())
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(row(page, normal_user.email)).to_be_visible()

    await search.fill("crew")
    await expect(summary).to_have_text("Showing 1 to 10 of 12 entries")
    await page.get_by_role("button", name="Go to next page").click()
    await expect(summary).to_have_text("Showing 11 to 12 of 12 entries")

    await search.fill("nobody like this")
    await expect(page.get_by_text("No users found")).to_be_visible()
    await search.fill("")
    await expect(summary).to_have_text("Showing 1 to 10 of 14 entries")


async def test_dialog_fields_are_the_only_ones_their_placeholders_find(
    page: Page, superuser: Account
) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    await open_add_user(page)
    await expect(page.get_by_placeholder("Email")).to_have_count(1)
    await expect(page.get_by_placeholder("Full name")).to_have_count(1)
    await expect(page.get_by_placeholder("Password")).to_have_count(2)


async def test_create_a_user(page: Page, superuser: Account, session: AsyncSession) -> None:
    email = random_email()
    await sign_in_as(page, superuser.id, "/admin")
    dialog = await open_add_user(page)
    await fill_new_user(dialog, email)
    # Ticked already: an account made with a quick Save can log in.
    await expect(dialog.get_by_role("checkbox", name="Is active?")).to_be_checked()
    await dialog.get_by_role("button", name="Save").click()
    await expect_toast(page, "User created successfully")
    await expect(row(page, email)).to_contain_text("User")
    await expect(row(page, email)).to_contain_text("Active")
    created = await users.get_user_by_email(session, email)
    assert created is not None
    assert created.is_active and not created.is_superuser


async def test_create_a_superuser(page: Page, superuser: Account) -> None:
    email = random_email()
    await sign_in_as(page, superuser.id, "/admin")
    dialog = await open_add_user(page)
    await fill_new_user(dialog, email)
    await dialog.get_by_role("checkbox", name="Is superuser?").check()
    await dialog.get_by_role("checkbox", name="Is active?").uncheck()
    await dialog.get_by_role("button", name="Save").click()
    await expect_toast(page, "User created successfully")
    await expect(row(page, email)).to_contain_text("Superuser")
    await expect(row(page, email)).to_contain_text("Inactive")


async def test_duplicate_email_shows_the_server_message(
    page: Page, superuser: Account, normal_user: Account
) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    dialog = await open_add_user(page)
    await fill_new_user(dialog, normal_user.email)
    await dialog.get_by_role("button", name="Save").click()
    await expect_toast(page, "The user with this email already exists in the system.")


async def test_edit_a_user(
    page: Page, superuser: Account, normal_user: Account, session: AsyncSession
) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    await row(page, normal_user.email).get_by_role("button").last.click()
    await page.get_by_role("menuitem", name="Edit User").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_text("Update the user details below.")).to_be_visible()
    await expect(dialog.get_by_placeholder("Email")).to_have_value(normal_user.email)
    await dialog.get_by_placeholder("Full name").fill("Renamed User")
    await dialog.get_by_role("button", name="Save").click()
    await expect_toast(page, "User updated successfully")
    await expect(row(page, normal_user.email)).to_contain_text("Renamed User")
    updated = await users.get_user_by_email(session, normal_user.email)
    assert updated is not None and updated.full_name == "Renamed User"


async def test_delete_a_user(page: Page, superuser: Account, normal_user: Account) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    await row(page, normal_user.email).get_by_role("button").last.click()
    await page.get_by_role("menuitem", name="Delete User").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_text("All items associated with this user")).to_be_visible()
    await dialog.get_by_role("button", name="Delete").click()
    await expect_toast(page, "The user was deleted successfully")
    await expect(row(page, normal_user.email)).to_have_count(0)


async def test_cancel_creation(page: Page, superuser: Account) -> None:
    email = random_email()
    await sign_in_as(page, superuser.id, "/admin")
    dialog = await open_add_user(page)
    await fill_new_user(dialog, email)
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(row(page, email)).to_have_count(0)


async def test_email_must_be_valid(page: Page, superuser: Account) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    dialog = await open_add_user(page)
    await dialog.get_by_placeholder("Email").fill("invalid-email")
    await dialog.get_by_placeholder("Full name").click()
    await expect(dialog.get_by_text("Invalid email address")).to_be_visible()


async def test_password_needs_eight_characters(page: Page, superuser: Account) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    dialog = await open_add_user(page)
    await dialog.get_by_placeholder("Password").first.fill("short")
    await dialog.get_by_placeholder("Full name").click()
    await expect(dialog.get_by_text("Password must be at least 8 characters")).to_be_visible()


async def test_passwords_must_match(page: Page, superuser: Account) -> None:
    await sign_in_as(page, superuser.id, "/admin")
    dialog = await open_add_user(page)
    await fill_new_user(dialog, random_email(), "changethis", "changethat")
    await dialog.get_by_placeholder("Full name").click()
    await expect(dialog.get_by_text("The passwords don't match")).to_be_visible()


async def test_normal_user_cannot_open_admin(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/admin")
    await expect(page).to_have_url(at_path("/"))
    await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
    await expect(page.get_by_role("heading", name="Users", exact=True)).to_have_count(0)
    await expect(page.get_by_role("link", name="Admin")).to_have_count(0)


async def test_superuser_sees_the_admin_link(page: Page, superuser: Account) -> None:
    await sign_in_as(page, superuser.id, "/")
    await page.get_by_role("link", name="Admin", exact=True).click()
    await expect(page).to_have_url(at_path("/admin"))
    await expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
