"""List pages serialized in one pass from plain records (see db/paging.py)."""

from typing import TypeVar

from fastapi.responses import Response
from pydantic import TypeAdapter

from app.models import ItemsPage, UsersPage

T = TypeVar("T")

ITEMS_PAGE = TypeAdapter(ItemsPage)
USERS_PAGE = TypeAdapter(UsersPage)


def json_response(adapter: TypeAdapter[T], value: T) -> Response:
    """JSON for `value`, byte for byte what the route's response model would give.

    The route keeps its `response_model` for the OpenAPI schema; returning a
    Response spares FastAPI re-validating a page of rows that came from the database.
    """
    return Response(adapter.dump_json(value), media_type="application/json")
