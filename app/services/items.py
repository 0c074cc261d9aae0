"""Items: every read and write checks ownership (superusers see everything)."""

from app.models import Item, ItemRecord
from app.services import messages
from app.services.entity import EntityRules

ITEMS: EntityRules[Item, ItemRecord] = EntityRules(
    Item,
    ItemRecord,
    kind="item",
    search=(Item.title, Item.description),
    not_found=messages.ITEM_NOT_FOUND,
    not_permitted=messages.NOT_ENOUGH_PERMISSIONS,
)

# The rules by the names the routes, the UI and the tests call them.
list_query = ITEMS.list_query
list_items = ITEMS.list
get_item = ITEMS.get
create_item = ITEMS.create
update_item = ITEMS.update
delete_item = ITEMS.delete
