"""Items (tag `items`): superusers see all, others their own."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import CurrentUser, Limit, ReplicaReadsDep, SessionDep, Skip
from app.api.errors import AUTHENTICATED, USES_DATABASE, WITH_BODY, responses
from app.api.pages import ITEMS_PAGE, json_response
from app.models import ItemCreate, ItemPublic, ItemsPage, ItemsPublic, ItemUpdate, Message, Text
from app.services import items, messages

router = APIRouter(
    prefix="/items", tags=["items"], responses=responses(*AUTHENTICATED, *USES_DATABASE)
)


@router.get("/", response_model=ItemsPublic)
async def read_items(
    reads: ReplicaReadsDep,
    current_user: CurrentUser,
    skip: Skip = 0,
    limit: Limit = 100,
    q: Annotated[
        Text | None, Query(max_length=255, description="Title or description contains")
    ] = None,
) -> Response:
    rows, count = await reads(items.list_items, current_user, skip, limit, q)
    return json_response(ITEMS_PAGE, ItemsPage(data=rows, count=count))


@router.get("/{id}", response_model=ItemPublic, responses=responses(403, 404))
async def read_item(reads: ReplicaReadsDep, current_user: CurrentUser, id: int) -> ItemPublic:
    return ItemPublic.model_validate(await reads(items.get_item, current_user, id))


@router.post("/", response_model=ItemPublic, responses=responses(*WITH_BODY))
async def create_item(
    session: SessionDep, current_user: CurrentUser, item_in: ItemCreate
) -> ItemPublic:
    return ItemPublic.model_validate(await items.create_item(session, current_user, item_in))


@router.put("/{id}", response_model=ItemPublic, responses=responses(403, 404, *WITH_BODY))
async def update_item(
    session: SessionDep, current_user: CurrentUser, id: int, item_in: ItemUpdate
) -> ItemPublic:
    return ItemPublic.model_validate(await items.update_item(session, current_user, id, item_in))


@router.delete("/{id}", responses=responses(403, 404))
async def delete_item(session: SessionDep, current_user: CurrentUser, id: int) -> Message:
    await items.delete_item(session, current_user, id)
    return Message(message=messages.ITEM_DELETED)
