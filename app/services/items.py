"""Items: every read and write checks ownership (superusers see everything)."""

from app.db import counts
from app.models import Item, ItemRecord
from app.services import messages
from app.services.owned import OwnedRows

ITEMS: OwnedRows[Item, ItemRecord] = OwnedRows(
    Item,
    ItemRecord,
    search=(Item.title, Item.description),
    count_all=counts.ALL_ITEMS,
    count_of_owner=counts.ITEMS_OF_OWNER,
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
