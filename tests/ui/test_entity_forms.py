"""How an entity's page turns stored values into form text and form text into what its
API schema takes (app/ui/table/entity.py), for every field type devtools.scaffold writes."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import reflex as rx
from pydantic import BaseModel, ValidationError

from app.models.fields import UTCDatetime
from app.ui.state.items import ItemsState
from app.ui.table.entity import TICKED, Field, FieldKind, _form_value, form_text
from app.ui.table.page import _input, _value_cell


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (None, ""),
        (True, TICKED),
        (False, ""),
        (datetime(2026, 1, 31, 9, 5, 59, tzinfo=UTC), "2026-01-31T09:05"),
        (date(2026, 1, 31), "2026-01-31"),
        (7, "7"),
        (2.5, "2.5"),
        ("text", "text"),
    ],
)
def test_a_stored_value_is_shown_as_its_input_takes_it(stored: Any, shown: str) -> None:
    assert form_text(stored) == shown


@pytest.mark.parametrize(
    ("kind", "form", "sent"),
    [
        ("bool", {"x": TICKED}, True),
        ("bool", {}, False),
        ("str", {}, ""),
        ("text", {"x": "as typed "}, "as typed "),
        ("int", {"x": ""}, None),
        ("int", {"x": "7"}, "7"),
        ("date", {"x": "2026-01-31"}, "2026-01-31"),
        # datetime-local has no zone: the page says times are UTC.
        ("datetime", {"x": "2026-01-31T09:00"}, "2026-01-31T09:00Z"),
        ("datetime", {"x": "2026-01-31T09:00Z"}, "2026-01-31T09:00Z"),
        # Not what a form sends: left for the schema to refuse with its message.
        ("int", {"x": [1]}, [1]),
    ],
)
def test_form_text_is_sent_as_the_schema_takes_it(
    kind: FieldKind, form: dict[str, Any], sent: Any
) -> None:
    assert _form_value(Field("x", "X", kind), form) == sent


class Moment(BaseModel):
    at: UTCDatetime


def test_a_moment_needs_its_zone_and_is_kept_in_utc() -> None:
    with pytest.raises(ValidationError, match="must include a time zone"):
        Moment(at=datetime(2026, 1, 31, 9, 0))  # noqa: DTZ001 (a naive time on purpose)
    later = Moment(at=datetime(2026, 1, 31, 11, 0, tzinfo=timezone(timedelta(hours=2))))
    assert later.at == datetime(2026, 1, 31, 9, 0, tzinfo=UTC) and later.at.tzinfo == UTC


@pytest.mark.parametrize("kind", ["bool", "text", "int", "float", "date", "datetime", "str"])
def test_every_field_kind_has_its_input_and_cell(kind: FieldKind) -> None:
    """What a generated entity's page is built from, for each kind (Items uses only str)."""
    field = Field("x", "X", kind)
    control = _input(ItemsState, field, "item-x", "")
    expected = {
        "bool": "checkbox",
        "text": "textarea",
        "int": 'type:"number"',
        "float": 'type:"number"',
        "date": 'type:"date"',
        "datetime": 'type:"datetime-local"',
        "str": 'type:"text"',
    }[kind]
    assert expected in str(control.render()).lower()
    cell = _value_cell(field, rx.Var.create(TICKED), first=False)
    assert ("Yes" in str(cell.render())) == (kind == "bool")
