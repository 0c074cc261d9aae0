"""The rules of the application, shared by the REST API and the Reflex UI."""

# Importing the package watches every ORM session, so each committed write publishes
# its change notice whoever made it (REST, UI, scripts).
from app.services import changes as changes  # noqa: E402
