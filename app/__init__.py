"""Full Stack Reflex: a Reflex UI and a FastAPI `/api/v1` over one set of rules."""

from app.observability.metrics_dir import prepare_multiprocess_dir

prepare_multiprocess_dir()
