"""A new entity in one command: its model, migration, rules, REST routes, page and tests.

    python -m devtools.scaffold Project name:str description:text? due:date? done:bool

Fields are `name:type`, or `name:type?` for an optional one; types are `str` (at most
255 characters), `text` (long), `int`, `float`, `bool`, `date` and `datetime`. Rows
belong to the user who made them, as Items do (`--owned`, the default), or are shared
by every signed-in user (`--no-owned`). What it writes builds on the same pieces as
Items (services/entity.py, api/entity_routes.py, ui/table/), so it is mostly a
declaration; the migration comes from `alembic revision --autogenerate` with the row
counters and search indexes of db/counters.py added. It prints each file it wrote or
changed; right after it, the migration, ruff, mypy and the new tests pass unedited.
"""

import argparse
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = ("str", "text", "int", "float", "bool", "date", "datetime")
# Names a field cannot take: the columns every entity has, and what the page's row or
# the models already use.
RESERVED = {"id", "owner_id", "created_at", "updated_at", "owner", "cells", "metadata"}
# Where the generator adds a line in files that list every entity.
ANCHOR = "# devtools.scaffold adds each new entity's"
# row_total.table_name is VARCHAR(32); index names end in up to 40 more characters.
MAX_NAME_LENGTH = 24


class ScaffoldError(Exception):
    """A request the generator refuses, with what to do instead."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    optional: bool

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @property
    def searched(self) -> bool:
        return self.type in ("str", "text")


@dataclass(frozen=True)
class Names:
    """Every spelling of the entity's name the files need."""

    singular: str  # Project, TaskList
    plural: str  # Projects, TaskLists

    @property
    def table(self) -> str:  # project, task_list
        return snake(self.singular)

    @property
    def many(self) -> str:  # projects, task_lists: module, tag and route names
        return snake(self.plural)

    @property
    def words(self) -> str:  # Project, Task list
        return self.table.replace("_", " ").capitalize()

    @property
    def words_plural(self) -> str:  # Projects, Task lists
        return self.many.replace("_", " ").capitalize()

    @property
    def route(self) -> str:  # /projects, /task-lists
        return "/" + self.many.replace("_", "-")

    @property
    def constant(self) -> str:  # PROJECTS
        return self.many.upper()


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def pluralize(word: str) -> str:
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def parse_name(raw: str, plural: str | None) -> Names:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", raw):
        raise ScaffoldError(f"{raw!r}: an entity's name is a word in CamelCase, like Project")
    singular = raw[0].upper() + raw[1:]
    names = Names(singular, plural[0].upper() + plural[1:] if plural else pluralize(singular))
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", names.plural) or names.plural == singular:
        raise ScaffoldError(f"{names.plural!r}: the plural must be another CamelCase word")
    if len(names.many) > MAX_NAME_LENGTH:
        raise ScaffoldError(f"{raw!r}: keep the name under {MAX_NAME_LENGTH} characters")
    taken = {"user", "item", "session", "recovery_code", "login", "utils", "private", "me"}
    if names.table in taken or names.many in {f"{t}s" for t in taken} | {"users", "items"}:
        raise ScaffoldError(f"{raw!r} is taken by the template itself")
    if (ROOT / "app" / "models" / f"{names.many}.py").exists():
        raise ScaffoldError(f"app/models/{names.many}.py exists: {singular} is there already")
    return names


def parse_field(raw: str) -> FieldSpec:
    name, sep, kind = raw.partition(":")
    optional = kind.endswith("?")
    kind = kind.removesuffix("?")
    if not sep or kind not in TYPES:
        raise ScaffoldError(f"{raw!r}: write a field as name:type, type one of {', '.join(TYPES)}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ScaffoldError(f"{raw!r}: a field's name is lower_snake_case")
    if name in RESERVED:
        raise ScaffoldError(f"{raw!r}: every entity has {name!r} already, or it is reserved")
    return FieldSpec(name, kind, optional)


# Model -------------------------------------------------------------------------------


def _schema_field(field: FieldSpec, *, update: bool = False) -> str:
    """The field's line in the API's schema: its type and its limits."""
    optional = field.optional or update
    default = " = None" if optional else ""
    none = " | None" if optional else ""
    limits = {
        "str": "max_length=TEXT_MAX_LENGTH",
        "text": "max_length=LONG_TEXT_MAX_LENGTH, sa_type=sa.Text",
        "int": "ge=INT_MIN, le=INT_MAX",
    }.get(field.type)
    if field.type in ("str", "text") and not field.optional:
        limits = f"min_length=1, {limits}"
    python = {
        "str": "Text",
        "text": "Text",
        "int": "int",
        "float": "FiniteFloat",
        "bool": "StrictBool",
        "date": "date",
        "datetime": "UTCDatetime",
    }[field.type]
    # An update's field may be left out where its base's may not: mypy is told so.
    widened = "  # type: ignore[assignment]" if update and not field.optional else ""
    if limits:
        value = f"Field(default=None, {limits})" if optional else f"Field({limits})"
        return f"    {field.name}: {python}{none} = {value}{widened}"
    return f"    {field.name}: {python}{none}{default}{widened}"


def _record_type(field: FieldSpec) -> str:
    python = {"str": "str", "text": "str", "float": "float", "bool": "bool"}.get(
        field.type, field.type
    )
    return f"{python} | None" if field.optional else python


def model_module(names: Names, fields: list[FieldSpec], owned: bool) -> str:
    s, table = names.singular, names.table
    base = "\n".join(_schema_field(f) for f in fields)
    update = "\n".join(_schema_field(f, update=True) for f in fields)
    record = "\n".join(f"    {f.name}: {_record_type(f)}" for f in fields)
    owner_lines = "    owner_id: int\n" if owned else ""
    table_owner = "    owner_id: int = owner_id_field()\n" if owned else ""
    indexes = (
        f'newest_first_index("{table}", "owner_id"), newest_first_index("{table}")'
        if owned
        else f'newest_first_index("{table}"),'
    )
    counter = f'\n\n{table}_count = owner_count_table("{table}")\n' if owned else ""
    whose = "rows that belong to a user" if owned else "rows every signed-in user shares"
    return f'''"""{names.words_plural}: {whose} (written by devtools.scaffold)."""

from datetime import date, datetime

import sqlalchemy as sa
from pydantic import FiniteFloat, StrictBool
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict

from app.models.counters import owner_count_table
from app.models.fields import (
    INT_MAX,
    INT_MIN,
    LONG_TEXT_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    Text,
    UTCDatetime,
    created_at_field,
    newest_first_index,
    owner_id_field,
    updated_at_field,
)


class {s}Base(SQLModel):
{base}


class {s}Create({s}Base):
    pass


class {s}Update({s}Base):
    """A partial update: only the fields sent change."""

{update}


class {s}({s}Base, table=True):
    __table_args__ = ({indexes})

    id: int | None = Field(default=None, primary_key=True)
{table_owner}    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class {s}Public({s}Base):
    id: int
{owner_lines}    created_at: datetime
    updated_at: datetime


class {names.plural}Public(SQLModel):
    data: list[{s}Public]
    count: int


class {s}Record(TypedDict):
    """A row as list pages carry it: plain data straight from the table."""

{record}
    id: int
{owner_lines}    created_at: datetime
    updated_at: datetime


class {names.plural}Page(TypedDict):
    data: list[{s}Record]
    count: int
{counter}'''


# Rules, routes, UI -------------------------------------------------------------------


def service_module(names: Names, fields: list[FieldSpec], owned: bool) -> str:
    s, m = names.singular, names.many
    search = ", ".join(f"{s}.{f.name}" for f in fields if f.searched)
    search = f"({search},)" if search else "()"
    rule = (
        "every read and write checks ownership (superusers see everything)"
        if owned
        else "every signed-in user reads and writes every row"
    )
    return f'''"""{names.words_plural}: {rule}."""

from app.models.{m} import {s}, {s}Record
from app.services import messages
from app.services.entity import EntityRules

NOT_FOUND = "{names.words} not found"
DELETED = "{names.words} deleted successfully"

{names.constant}: EntityRules[{s}, {s}Record] = EntityRules(
    {s},
    {s}Record,
    kind="{names.table}",
    search={search},
    not_found=NOT_FOUND,
    not_permitted=messages.NOT_ENOUGH_PERMISSIONS,
    owned={owned},
)
'''


def routes_module(names: Names, fields: list[FieldSpec], owned: bool) -> str:
    s, p, m = names.singular, names.plural, names.many
    searched = [f.label.lower() for f in fields if f.searched]
    help_text = f"{' or '.join(searched).capitalize()} contains" if searched else "Matches nothing"
    whose = "superusers see all, others their own" if owned else "shared by every signed-in user"
    return f'''"""{names.words_plural} (tag `{m}`): {whose}."""

from pydantic import TypeAdapter

from app.api.entity_routes import Entity, entity_router
from app.models.{m} import {s}Create, {p}Page, {p}Public, {s}Public, {s}Update
from app.services import {m}

router = entity_router(
    Entity(
        rules={m}.{names.constant},
        singular="{names.table}",
        plural="{m}",
        public={s}Public,
        page={p}Public,
        page_adapter=TypeAdapter({p}Page),
        create={s}Create,
        update={s}Update,
        deleted={m}.DELETED,
        search_help="{help_text}",
    )
)
'''


def state_module(names: Names, fields: list[FieldSpec]) -> str:
    s, p, m = names.singular, names.plural, names.many
    declared = "\n".join(
        f'            Field("{f.name}", "{f.label}", "{f.type}", required={not f.optional}),'
        for f in fields
    )
    return f'''"""The {names.words_plural} page's state: a declaration of the entity's table."""

from typing import ClassVar

from app.models.{m} import {s}Create, {s}Update
from app.services import {m}
from app.ui.state.auth import AuthState
from app.ui.table.entity import EntityTable, EntityUI, Field


class {p}State(EntityTable, AuthState):
    _entity: ClassVar[EntityUI] = EntityUI(
        rules={m}.{names.constant},
        create={s}Create,
        update={s}Update,
        singular="{names.words}",
        plural="{names.words_plural}",
        fields=(
{declared}
        ),
    )
'''


def page_module(names: Names, icon: str, owned: bool) -> str:
    p, m = names.plural, names.many
    whose = "your " if owned else ""
    return f'''"""`{names.route}`: {names.words_plural.lower()}, a page at a time, with search and
add / edit / delete."""

import reflex as rx

from app.ui.components.layout import PRIVATE_PAGE, page_title
from app.ui.state.{m} import {p}State
from app.ui.table.page import entity_page


@rx.page(
    route="{names.route}",
    title=page_title("{names.words_plural}"),
    description="Create and manage {whose}{names.words_plural.lower()}.",
    meta=PRIVATE_PAGE,
    on_load={p}State.open_page,
)
def {m}() -> rx.Component:
    return entity_page({p}State, icon="{icon}")
'''


# Tests -------------------------------------------------------------------------------

# A value each type takes, another to change it to, and one the API refuses.
SAMPLES: dict[str, tuple[str, str, str]] = {
    "str": ('"First"', '"Second"', '"x" * 256'),
    "text": ('"Some words"', '"Other words"', '"x" * 10_001'),
    "int": ("7", "8", "2**31"),
    "float": ("1.5", "2.25", '"NaN"'),
    "bool": ("True", "False", '"maybe"'),
    "date": ('"2026-01-31"', '"2026-02-01"', '"2026-02-30"'),
    "datetime": ('"2026-01-31T09:00:00Z"', '"2026-02-01T10:30:00Z"', '"2026-01-31T09:00:00"'),
}


def _body(fields: list[FieldSpec], which: int) -> str:
    return "{" + ", ".join(f'"{f.name}": {SAMPLES[f.type][which]}' for f in fields) + "}"


def service_tests(names: Names, fields: list[FieldSpec], owned: bool) -> str:
    s, m = names.singular, names.many
    first = fields[0]
    stranger = (
        f"""    with pytest.raises(Forbidden):
        await {m}.{names.constant}.get(session, stranger, row.id)
    _, theirs = await {m}.{names.constant}.list(session, stranger, 0, 10)
    assert theirs == 0"""
        if owned
        else f"""    shared = await {m}.{names.constant}.get(session, stranger, row.id)
    assert shared.id == row.id"""
    )
    return f'''"""{names.words_plural}' rules on the services directly (by devtools.scaffold)."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User, UserCreate
from app.models.{m} import {s}Create, {s}Update
from app.services import {m}, users
from app.services.errors import Forbidden, NotFound
from tests.factories import random_email, random_lower_string


async def new_user(session: AsyncSession, superuser: bool = False) -> User:
    return await users.create_user(
        session,
        UserCreate(email=random_email(), password=random_lower_string(), is_superuser=superuser),
    )


async def test_create_read_list_update_delete(session: AsyncSession) -> None:
    owner, stranger = await new_user(session), await new_user(session)
    rules = {m}.{names.constant}
    row = await rules.create(session, owner, {s}Create.model_validate({_body(fields, 0)}))
    assert row.id is not None
    assert (await rules.get(session, owner, row.id)).id == row.id
{stranger}
    page, count = await rules.list(session, owner, 0, 10)
    assert count == 1 and [record["id"] for record in page] == [row.id]
    changed = {s}Update.model_validate({_body(fields, 1)})
    updated = await rules.update(session, owner, row.id, changed)
    assert updated.{first.name} == changed.{first.name}
    await rules.delete(session, owner, row.id)
    with pytest.raises(NotFound) as error:
        await rules.get(session, owner, row.id)
    assert error.value.detail == {m}.NOT_FOUND
    assert (await rules.list(session, owner, 0, 10))[1] == 0


async def test_counts_follow_writes(session: AsyncSession) -> None:
    owner = await new_user(session)
    rules = {m}.{names.constant}
    for _ in range(3):
        await rules.create(session, owner, {s}Create.model_validate({_body(fields, 0)}))
    assert (await rules.list(session, owner, 0, 1))[1] == 3
'''


def api_tests(names: Names, fields: list[FieldSpec], owned: bool) -> str:
    m = names.many
    first = fields[0]
    # Every type has a value the API refuses: the first field gets one.
    bad = first
    other_user = (
        f"""
async def test_another_user_may_not_read_it(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account
) -> None:
    created = await client.post(URL, headers=normal_user.headers, json={_body(fields, 0)})
    row_id = created.json()["id"]
    r = await client.get(f"{{URL}}{{row_id}}", headers=other_user.headers)
    assert r.status_code == 403
    assert r.json() == {{"detail": "Not enough permissions"}}
    listed = await client.get(URL, headers=other_user.headers)
    assert listed.json() == {{"data": [], "count": 0}}
"""
        if owned
        else f"""
async def test_every_user_reads_it(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account
) -> None:
    created = await client.post(URL, headers=normal_user.headers, json={_body(fields, 0)})
    row_id = created.json()["id"]
    r = await client.get(f"{{URL}}{{row_id}}", headers=other_user.headers)
    assert r.status_code == 200
"""
    )
    return f'''"""The `{names.route}/` routes (written by devtools.scaffold)."""

import httpx

from app.core.config import settings
from tests.conftest import Account

URL = f"{{settings.API_V1_STR}}/{m}/"


async def test_create_read_update_list_delete(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(URL, headers=normal_user.headers, json={_body(fields, 0)})
    assert r.status_code == 200, r.text
    row = r.json()
    assert {{"id", "created_at", "updated_at"}} <= row.keys()
    r = await client.get(f"{{URL}}{{row['id']}}", headers=normal_user.headers)
    assert r.status_code == 200 and r.json()["id"] == row["id"]
    changes = {_body(fields, 1)}
    r = await client.put(f"{{URL}}{{row['id']}}", headers=normal_user.headers, json=changes)
    assert r.status_code == 200, r.text
    assert r.json()["{first.name}"] != row["{first.name}"]
    r = await client.get(URL, headers=normal_user.headers)
    assert r.status_code == 200 and r.json()["count"] == 1
    r = await client.delete(f"{{URL}}{{row['id']}}", headers=normal_user.headers)
    assert r.json() == {{"message": "{names.words} deleted successfully"}}
    r = await client.get(f"{{URL}}{{row['id']}}", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == {{"detail": "{names.words} not found"}}


async def test_a_missing_row_is_404(client: httpx.AsyncClient, normal_user: Account) -> None:
    for row_id in (10**6, 0, 2**40):
        r = await client.get(f"{{URL}}{{row_id}}", headers=normal_user.headers)
        assert r.status_code == 404


async def test_invalid_input_is_422(client: httpx.AsyncClient, normal_user: Account) -> None:
    body = {{**{_body(fields, 0)}, "{bad.name}": {SAMPLES[bad.type][2]}}}
    r = await client.post(URL, headers=normal_user.headers, json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "{bad.name}"]


async def test_it_needs_a_login(client: httpx.AsyncClient) -> None:
    r = await client.get(URL)
    assert r.status_code == 401
{other_user}'''


def _fill(field: FieldSpec, value: str) -> str:
    """A browser test's line that types `value` (a Python literal) into the field."""
    locator = f'dialog.locator(f"#{{ENTITY}}-{field.name.replace("_", "-")}")'
    if field.type == "bool":
        return f"    await {locator}.click()" if value == "True" else ""
    text = value.strip('"')
    if field.type == "datetime":
        text = text.removesuffix(":00Z").removesuffix("Z")
    return f'    await {locator}.fill("{text}")'


def ui_tests(names: Names, fields: list[FieldSpec], owned: bool) -> str:
    first = fields[0]
    fills = "\n".join(line for f in fields if (line := _fill(f, SAMPLES[f.type][0])))
    shown = SAMPLES[first.type][0].strip('"')
    if first.type == "datetime":
        shown = shown.removesuffix(":00Z")
    if first.type == "bool":
        shown = "Yes"
    many = names.words_plural.lower()
    empty = f"You don't have any {many} yet" if owned else f"There are no {many} yet"
    return f'''"""The `{names.route}` page in Chromium (written by devtools.scaffold)."""

from playwright.async_api import Page, expect

from tests.conftest import Account
from tests.ui.browser import expect_toast, needs_chromium, sign_in_as

pytestmark = needs_chromium
ENTITY = "{names.table.replace("_", "-")}"


async def test_add_edit_and_delete_a_row(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "{names.route}")
    heading = page.get_by_role("heading", name="{names.words_plural}", exact=True)
    await expect(heading).to_be_visible()
    await page.get_by_role("button", name="Add {names.words}").click()
    dialog = page.get_by_role("dialog")
{fills}
    await dialog.get_by_role("button", name="Save").click()
    await expect_toast(page, "{names.words} created successfully")
    row = page.locator("tbody tr").filter(has_text="{shown}")
    await expect(row).to_have_count(1)
    await row.get_by_role("button").last.click()
    await page.get_by_role("menuitem", name="Delete {names.words}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect_toast(page, "The {names.words.lower()} was deleted successfully")
    await expect(page.get_by_text("{empty}")).to_be_visible()
'''


# Edits of files that list every entity -------------------------------------------------


def add_before_anchor(path: Path, what: str, line: str) -> None:
    """`line` above the `# devtools.scaffold adds each new entity's <what>` comment."""
    text = path.read_text()
    index = text.index(f"{ANCHOR} {what} ")
    start = text.rindex("\n", 0, index) + 1
    indent = text[start:index]
    path.write_text(text[:start] + indent + line + "\n" + text[start:])


def add_import(path: Path, after: str, name: str) -> None:
    """`name` added to the `from ... import` that starts with `after` (ruff sorts it)."""
    text = path.read_text()
    index = text.index(after) + len(after)
    path.write_text(text[:index] + name + text[index:])


# Migration ---------------------------------------------------------------------------


def next_revision() -> str:
    numbers = [
        int(match.group(1))
        for path in (ROOT / "alembic" / "versions").glob("*.py")
        if (match := re.match(r"(\d{4})_", path.name))
    ]
    return f"{max(numbers, default=0) + 1:04d}"


def write_migration(names: Names, fields: list[FieldSpec], owned: bool) -> Path:
    """`alembic revision --autogenerate` against a scratch SQLite database at head, then
    the counters and search indexes: the migration matches the model by construction."""
    revision = next_revision()
    versions = ROOT / "alembic" / "versions"
    with tempfile.TemporaryDirectory(prefix="scaffold-") as scratch:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{scratch}/scaffold.db"}
        alembic = [sys.executable, "-m", "alembic"]

        def run(*arguments: str) -> None:
            done = subprocess.run(
                [*alembic, *arguments], cwd=ROOT, env=env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise ScaffoldError(f"alembic {' '.join(arguments)} failed:\n{done.stderr}")

        run("upgrade", "head")
        before = set(versions.glob("*.py"))
        message = f"{names.words_plural}: their table, row counters and search indexes"
        run("revision", "--autogenerate", "--rev-id", revision, "-m", message)
        (written,) = set(versions.glob("*.py")) - before
    target = versions / f"{revision}_{names.many}.py"
    written.rename(target)
    text = target.read_text()
    searched = "".join(f', "{f.name}"' for f in fields if f.searched)
    table, many = names.table, names.many
    up = f'    counters.create_counters("{table}", "{many}", owned={owned})\n'
    down = f'    counters.drop_counters("{table}", "{many}", owned={owned})\n'
    if searched:
        up += f'    counters.create_search_indexes("{table}"{searched})\n'
        down = f'    counters.drop_search_indexes("{table}"{searched})\n' + down
    end = "    # ### end Alembic commands ###\n"
    upgrade_end = text.index(end) + len(end)
    text = text[:upgrade_end] + up + text[upgrade_end:]
    downgrade = text.index("def downgrade() -> None:\n") + len("def downgrade() -> None:\n")
    text = text[:downgrade] + down + text[downgrade:]
    text = text.replace(
        "from alembic import op\n", "from alembic import op\nfrom app.db import counters\n"
    )
    target.write_text(text)
    return target


# Main --------------------------------------------------------------------------------


def scaffold(names: Names, fields: list[FieldSpec], owned: bool, icon: str) -> list[Path]:
    m = names.many
    new: dict[Path, str] = {
        ROOT / "app" / "models" / f"{m}.py": model_module(names, fields, owned),
        ROOT / "app" / "services" / f"{m}.py": service_module(names, fields, owned),
        ROOT / "app" / "api" / "routes" / f"{m}.py": routes_module(names, fields, owned),
        ROOT / "app" / "ui" / "state" / f"{m}.py": state_module(names, fields),
        ROOT / "app" / "ui" / "pages" / f"{m}.py": page_module(names, icon, owned),
        ROOT / "tests" / "services" / f"test_{m}_service.py": service_tests(names, fields, owned),
        ROOT / "tests" / "api" / f"test_{m}.py": api_tests(names, fields, owned),
        ROOT / "tests" / "ui" / f"test_{m}.py": ui_tests(names, fields, owned),
    }
    for path in new:
        if path.exists():
            raise ScaffoldError(f"{path.relative_to(ROOT)} exists: nothing was written")
    for path, text in new.items():
        path.write_text(text)
    models = ROOT / "app" / "models" / "__init__.py"
    with models.open("a") as file:
        file.write(f"from app.models import {m} as {m}\n")
    main = ROOT / "app" / "api" / "main.py"
    add_import(main, "from app.api.routes import ", f"{m}, ")
    add_before_anchor(main, "tag", f'"{m}",')
    add_before_anchor(main, "router", f"{m}.router,")
    title = names.words_plural
    add_before_anchor(
        ROOT / "app" / "ui" / "components" / "layout.py",
        "page",
        f'("{title}", "{names.route}", "{icon}"),',
    )
    whose = "your " if owned else ""
    add_before_anchor(
        ROOT / "app" / "ui" / "pages" / "dashboard.py",
        "card",
        f'shortcut("{icon}", "{title}", "Create and manage {whose}{title.lower()}",'
        f' "{names.route}"),',
    )
    changed = [
        models,
        main,
        ROOT / "app/ui/components/layout.py",
        ROOT / "app/ui/pages/dashboard.py",
    ]
    migration = write_migration(names, fields, owned)
    written = [*new, migration, *changed]
    tidy(written)
    return written


def tidy(paths: list[Path]) -> None:
    """In the project's style: imports sorted, lines formatted (ruff, as the hooks do)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    files = [str(path) for path in paths]
    subprocess.run([ruff, "check", "--fix", "--quiet", "--select", "I,F401", *files], cwd=ROOT)
    subprocess.run([ruff, "format", "--quiet", *files], cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.scaffold",
        description="Write a new entity: model, migration, rules, routes, page and tests.",
        epilog="Example: python -m devtools.scaffold Project name:str description:text? due:date?",
    )
    parser.add_argument("name", help="the entity, singular, in CamelCase: Project")
    parser.add_argument(
        "fields", nargs="+", metavar="FIELD", help=f"name:type or name:type? ({', '.join(TYPES)})"
    )
    parser.add_argument(
        "--owned",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rows belong to a user, like Items (default); --no-owned: shared by all users",
    )
    parser.add_argument("--plural", help="the plural, when adding an s is wrong: --plural People")
    parser.add_argument(
        "--icon", default="folder", help="a Lucide icon name for the sidebar (default: folder)"
    )
    args = parser.parse_args(argv)
    try:
        names = parse_name(args.name, args.plural)
        fields = [parse_field(raw) for raw in args.fields]
        if len({f.name for f in fields}) != len(fields):
            raise ScaffoldError("each field once")
        written = scaffold(names, fields, args.owned, args.icon)
    except ScaffoldError as error:
        sys.stderr.write(f"scaffold: {error}\n")
        return 2
    for path in written:
        sys.stdout.write(f"  wrote {path.relative_to(ROOT)}\n")
    sys.stdout.write(
        f"\n{names.words_plural} are at {names.route} and /api/v1/{names.many}/. Next:\n"
        "  alembic upgrade head          (or restart scripts/run.sh: prestart migrates)\n"
        f"  bash scripts/test.sh tests/services/test_{names.many}_service.py"
        f" tests/api/test_{names.many}.py tests/ui/test_{names.many}.py\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
