"""The rules of the application, shared by the REST API and the Reflex UI."""
