"""The Items page's state: a declaration of the entity's table (table/entity.py)."""

from typing import ClassVar

from app.models import ItemCreate, ItemUpdate
from app.services import items
from app.ui.state.auth import AuthState
from app.ui.table.entity import EntityTable, EntityUI, Field


class ItemsState(EntityTable, AuthState):
    _entity: ClassVar[EntityUI] = EntityUI(
        rules=items.ITEMS,
        create=ItemCreate,
        update=ItemUpdate,
        singular="Item",
        plural="Items",
        fields=(
            Field("title", "Title", required=True),
            Field("description", "Description"),
        ),
    )
