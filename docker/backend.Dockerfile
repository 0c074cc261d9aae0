# syntax=docker/dockerfile:1
# Backend image: the Reflex backend (UI events over /api/_event) and the FastAPI REST API
# (/api/v1), served by granian through `reflex run --env prod --backend-only` on port 8000.
# Build from the repository root:
#   docker build -f docker/backend.Dockerfile -t full-stack-reflex-backend .
# No secret is baked in: settings come from the environment at run time (compose.yml).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------- dependencies
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir --requirement /tmp/requirements.txt

# ---------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="full-stack-reflex-backend" \
      org.opencontainers.image.description="Reflex backend + FastAPI /api/v1 (reflex run --env prod --backend-only)"
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app \
    && chown app:app /app
WORKDIR /app
COPY --from=deps /opt/venv /opt/venv
COPY --chown=app:app rxconfig.py alembic.ini ./
COPY --chown=app:app alembic ./alembic
COPY --chown=app:app assets ./assets
COPY --chown=app:app app ./app
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_CHECK_LATEST_VERSION=false \
    REFLEX_TRUSTED_PROXY_HOPS=0
USER 10001:10001
EXPOSE 8000
# /api/_health checks the database and Redis; Traefik only routes to healthy replicas.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/_health', timeout=4).status != 200)"]
# granian stops cleanly on SIGTERM (open websockets are closed, the lifespan shutdown runs).
STOPSIGNAL SIGTERM
CMD ["reflex", "run", "--env", "prod", "--backend-only", "--backend-host", "0.0.0.0", "--backend-port", "8000"]
