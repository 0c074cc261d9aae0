"""Account rules, exercised on the services directly (no HTTP)."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import verify_password_sync
from app.db import SessionMaker
from app.models import MAX_ID, Item, User, UserCreate, UserRegister, UserUpdate, UserUpdateMe
from app.services import messages, users
from app.services.errors import BadRequest, Conflict, Forbidden, NotFound
from tests.factories import create_item, random_email, random_lower_string


async def new_user(session: AsyncSession, **fields: object) -> User:
    data = UserCreate.model_validate(
        {"email": random_email(), "password": random_lower_string(), **fields}
    )
    return await users.create_user(session, data)


async def test_created_user_has_hash_not_password(session: AsyncSession) -> None:
    password = random_lower_string()
    user = await users.create_user(session, UserCreate(email=random_email(), password=password))
    assert user.hashed_password != password
    assert verify_password_sync(password, user.hashed_password)
    assert user.is_active and not user.is_superuser
    assert user.created_at.tzinfo is not None
    assert user.created_at <= datetime.now(UTC)


async def test_register_ignores_privileges_and_rejects_duplicates(session: AsyncSession) -> None:
    email = random_email()
    user = await users.register_user(
        session, UserRegister(email=email, password="x" * 8), client="127.0.0.1"
    )
    assert user.is_active and not user.is_superuser
    with pytest.raises(BadRequest) as error:
        await users.register_user(
            session, UserRegister(email=email, password="y" * 8), client="127.0.0.1"
        )
    assert error.value.detail == messages.EMAIL_TAKEN_SIGNUP


async def test_admin_create_duplicate_has_trailing_period(session: AsyncSession) -> None:
    user = await new_user(session)
    with pytest.raises(BadRequest) as error:
        await users.create_user(session, UserCreate(email=user.email, password="x" * 8))
    assert error.value.detail == messages.EMAIL_TAKEN_ADMIN
    # Logs and error reports show the exception itself: it carries the same text.
    assert str(error.value) == messages.EMAIL_TAKEN_ADMIN


async def test_concurrent_registrations_with_one_email_create_one_user() -> None:
    email = random_email()

    async def attempt() -> str:
        async with SessionMaker() as own_session:
            try:
                await users.register_user(
                    own_session, UserRegister(email=email, password="x" * 8), client="127.0.0.1"
                )
            except BadRequest as error:
                return error.detail
            return "created"

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert outcomes.count("created") == 1
    assert set(outcomes) == {"created", messages.EMAIL_TAKEN_SIGNUP}
    async with SessionMaker() as check:
        rows = (await check.exec(select(User).where(User.email == email))).all()
    assert len(rows) == 1


async def test_read_user_rules(session: AsyncSession) -> None:
    alice, bob = await new_user(session), await new_user(session)
    admin = await new_user(session, is_superuser=True)
    assert alice.id is not None and bob.id is not None
    assert (await users.read_user(session, alice, alice.id)).id == alice.id
    with pytest.raises(Forbidden):
        await users.read_user(session, alice, bob.id)
    with pytest.raises(Forbidden):
        await users.read_user(session, alice, 10**6)
    assert (await users.read_user(session, admin, bob.id)).id == bob.id
    with pytest.raises(NotFound) as error:
        await users.read_user(session, admin, 10**6)
    assert error.value.detail == messages.USER_NOT_FOUND


@pytest.mark.parametrize("user_id", [0, -1, 2**31, 10**30])
async def test_ids_outside_the_column_range_are_not_found(
    session: AsyncSession, user_id: int
) -> None:
    assert await users.get_user(session, user_id) is None


async def test_the_largest_storable_id_still_names_its_row(session: AsyncSession) -> None:
    # The last value an int4 column holds is inside the range, not the first outside it.
    user = User(id=MAX_ID, email=random_email(), hashed_password="not-a-hash")
    session.add(user)
    await session.commit()
    found = await users.get_user(session, MAX_ID)
    assert found is not None and found.email == user.email


async def test_update_user_applies_only_sent_fields_and_rehashes(session: AsyncSession) -> None:
    user = await new_user(session, full_name="Before")
    assert user.id is not None
    before = user.password_changed_at
    updated = await users.update_user(
        session, user.id, UserUpdate.model_validate({"password": "new-password-1"})
    )
    assert updated.full_name == "Before"
    assert verify_password_sync("new-password-1", updated.hashed_password)
    assert updated.password_changed_at > before


async def test_update_user_conflicts_and_missing(session: AsyncSession) -> None:
    alice, bob = await new_user(session), await new_user(session)
    assert alice.id is not None
    with pytest.raises(Conflict) as error:
        await users.update_user(session, alice.id, UserUpdate.model_validate({"email": bob.email}))
    assert error.value.detail == messages.EMAIL_TAKEN_UPDATE
    with pytest.raises(NotFound) as missing:
        await users.update_user(session, 10**6, UserUpdate.model_validate({"full_name": "x"}))
    assert missing.value.detail == messages.USER_ID_NOT_FOUND


async def test_update_me_moves_updated_at_not_created_at(session: AsyncSession) -> None:
    user = await new_user(session)
    created, updated = user.created_at, user.updated_at
    await asyncio.sleep(0.01)
    changed = await users.update_me(session, user, UserUpdateMe(full_name="New Name"))
    assert changed.full_name == "New Name"
    assert changed.created_at == created
    assert changed.updated_at > updated


async def test_update_me_to_own_email_is_fine_and_to_taken_one_conflicts(
    session: AsyncSession,
) -> None:
    alice, bob = await new_user(session), await new_user(session)
    await users.update_me(session, alice, UserUpdateMe(email=alice.email))
    with pytest.raises(Conflict):
        await users.update_me(session, alice, UserUpdateMe(email=bob.email))


async def test_change_password_rules(session: AsyncSession) -> None:
    password = random_lower_string()
    user = await users.create_user(session, UserCreate(email=random_email(), password=password))
    with pytest.raises(BadRequest) as wrong:
        await users.change_password(
            session, user, "not-the-password", "whatever-123", current_session=0
        )
    assert wrong.value.detail == messages.INCORRECT_PASSWORD
    with pytest.raises(BadRequest) as same:
        await users.change_password(session, user, password, password, current_session=0)
    assert same.value.detail == messages.SAME_PASSWORD
    await users.change_password(session, user, password, "brand-new-password", current_session=0)
    assert verify_password_sync("brand-new-password", user.hashed_password)


async def test_deleting_a_user_deletes_their_items(session: AsyncSession) -> None:
    admin = await new_user(session, is_superuser=True)
    owner = await new_user(session)
    assert owner.id is not None
    for _ in range(3):
        await create_item(session, owner)
    await users.delete_user(session, admin, owner.id)
    remaining = (await session.exec(select(Item).where(Item.owner_id == owner.id))).all()
    assert remaining == []


async def test_superusers_cannot_delete_themselves(session: AsyncSession) -> None:
    admin = await new_user(session, is_superuser=True)
    assert admin.id is not None
    with pytest.raises(Forbidden):
        await users.delete_me(session, admin)
    with pytest.raises(Forbidden) as error:
        await users.delete_user(session, admin, admin.id)
    assert error.value.detail == messages.SUPERUSER_SELF_DELETE


async def test_delete_missing_user_is_not_found(session: AsyncSession) -> None:
    admin = await new_user(session, is_superuser=True)
    with pytest.raises(NotFound):
        await users.delete_user(session, admin, 10**6)


async def test_list_users_newest_first_with_total_count(session: AsyncSession) -> None:
    created = [await new_user(session) for _ in range(5)]
    page, count = await users.list_users(session, skip=1, limit=2)
    assert count == 5
    assert [u["id"] for u in page] == [created[3].id, created[2].id]


async def test_list_users_searches_email_and_full_name_literally(session: AsyncSession) -> None:
    ada = await users.create_user(
        session, UserCreate(email="ada@lovelace.example", password="x" * 8, full_name="Ada")
    )
    grace = await users.create_user(
        session, UserCreate(email="hopper@navy.example", password="x" * 8, full_name="Grace 100%")
    )
    await new_user(session)
    found, count = await users.list_users(session, 0, 10, search="LOVELACE")
    assert count == 1 and [u["id"] for u in found] == [ada.id]
    found, count = await users.list_users(session, 0, 10, search="grace")
    assert count == 1 and [u["id"] for u in found] == [grace.id]
    # Wildcards are plain characters.
    found, count = await users.list_users(session, 0, 10, search="%")
    assert count == 1 and [u["id"] for u in found] == [grace.id]
    assert (await users.list_users(session, 0, 10, search="nobody"))[1] == 0
    # A search page past the end still counts its matches (the second, count query).
    assert await users.list_users(session, 5, 10, search="LOVELACE") == ([], 1)


async def test_first_superuser_is_created_once(session: AsyncSession) -> None:
    first = await users.ensure_first_superuser(session)
    again = await users.ensure_first_superuser(session)
    assert first.id == again.id
    assert first.email == settings.FIRST_SUPERUSER
    assert first.is_superuser and first.is_active
    assert verify_password_sync(settings.FIRST_SUPERUSER_PASSWORD, first.hashed_password)
