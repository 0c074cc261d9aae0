"""Items (tag `items`): superusers see all, others their own."""

from app.api.entity_routes import Entity, entity_router
from app.api.serializers import ITEMS_PAGE
from app.models import ItemCreate, ItemPublic, ItemsPublic, ItemUpdate
from app.services import items, messages

router = entity_router(
    Entity(
        rules=items.ITEMS,
        singular="item",
        plural="items",
        public=ItemPublic,
        page=ItemsPublic,
        page_adapter=ITEMS_PAGE,
        create=ItemCreate,
        update=ItemUpdate,
        deleted=messages.ITEM_DELETED,
        search_help="Title or description contains",
    )
)
