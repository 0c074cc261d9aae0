"""The REST routes of a table of owned rows (services/entity.py): list, read, create,
update, delete, under one prefix and tag, with the template's names and answers.

`/items` is one: its operations keep the template's ids (`items-read_items`,
`items-create_item`, ...), which generated clients are built on.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter
from sqlmodel import SQLModel

from app.api.deps import CurrentUser, Limit, ReplicaReadsDep, SessionDep, Skip
from app.api.errors import AUTHENTICATED, USES_DATABASE, WITH_BODY, responses
from app.api.serializers import json_response
from app.models import Message, Text
from app.services.entity import EntityRules


@dataclass(frozen=True)
class Entity:
    """How an owned table shows in the API: its rules, names and schemas."""

    rules: EntityRules[Any, Any]
    # `item` and `items`: the routes' names (read_items, read_item, create_item...).
    singular: str
    plural: str
    # What one row and one page answer as, and the page's serializer.
    public: type[SQLModel]
    page: type[SQLModel]
    page_adapter: TypeAdapter[Any]
    create: type[SQLModel]
    update: type[SQLModel]
    deleted: str
    search_help: str


def entity_router(entity: Entity) -> APIRouter:
    """`/{plural}` with the five routes; mount it like any router."""
    router = APIRouter(
        prefix=f"/{entity.plural}",
        tags=[entity.plural],
        responses=responses(*AUTHENTICATED, *USES_DATABASE),
    )
    rules, public = entity.rules, entity.public
    search = Annotated[Text | None, Query(max_length=255, description=entity.search_help)]
    # FastAPI reads the body's model from the annotation at runtime; to mypy these are
    # variables, not types, hence the ignores below.
    create, update = entity.create, entity.update

    async def read_rows(
        reads: ReplicaReadsDep,
        current_user: CurrentUser,
        skip: Skip = 0,
        limit: Limit = 100,
        q: search = None,
    ) -> Response:
        rows, count = await reads(rules.list, current_user, skip, limit, q)
        return json_response(entity.page_adapter, {"data": rows, "count": count})

    async def read_row(reads: ReplicaReadsDep, current_user: CurrentUser, id: int) -> Any:
        return public.model_validate(await reads(rules.get, current_user, id))

    async def create_row(
        session: SessionDep,
        current_user: CurrentUser,
        body: create,  # type: ignore[valid-type]
    ) -> Any:
        return public.model_validate(await rules.create(session, current_user, body))

    async def update_row(
        session: SessionDep,
        current_user: CurrentUser,
        id: int,
        body: update,  # type: ignore[valid-type]
    ) -> Any:
        return public.model_validate(await rules.update(session, current_user, id, body))

    async def delete_row(session: SessionDep, current_user: CurrentUser, id: int) -> Message:
        await rules.delete(session, current_user, id)
        return Message(message=entity.deleted)

    one, many = entity.singular, entity.plural
    router.add_api_route(
        "/", read_rows, methods=["GET"], name=f"read_{many}", response_model=entity.page
    )
    router.add_api_route(
        "/{id}",
        read_row,
        methods=["GET"],
        name=f"read_{one}",
        response_model=public,
        responses=responses(403, 404),
    )
    router.add_api_route(
        "/",
        create_row,
        methods=["POST"],
        name=f"create_{one}",
        response_model=public,
        responses=responses(*WITH_BODY),
    )
    router.add_api_route(
        "/{id}",
        update_row,
        methods=["PUT"],
        name=f"update_{one}",
        response_model=public,
        responses=responses(403, 404, *WITH_BODY),
    )
    router.add_api_route(
        "/{id}",
        delete_row,
        methods=["DELETE"],
        name=f"delete_{one}",
        responses=responses(403, 404),
    )
    return router
