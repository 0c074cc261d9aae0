"""Full Stack Reflex: a Reflex UI and a FastAPI `/api/v1` over one set of rules."""
