# syntax=docker/dockerfile:1
# Frontend image: the static export of the Reflex UI, served by nginx on port 8080.
# The backend's public origin is baked into the bundle at build time:
#   docker build -f docker/frontend.Dockerfile \
#       --build-arg REFLEX_API_URL=https://app.example.com -t full-stack-reflex-frontend .
# Behind one domain, REFLEX_API_URL is that domain's origin: the proxy sends /api to the backend.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.29-alpine

FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
# Node.js (for npm and Reflex's compression step) from the official image.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
# bun from the npm registry (scripts/setup.sh's fallback), not Reflex's own download: an
# image build must not depend on GitHub, which offline or locked-down builders cannot reach.
ARG BUN_VERSION=1.4.4
RUN npm install --no-audit --no-fund --save-exact --prefix /opt/tools "bun@${BUN_VERSION}" \
    && /opt/tools/node_modules/.bin/bun --version
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir --requirement /tmp/requirements.txt
WORKDIR /src
COPY rxconfig.py alembic.ini ./
COPY reflex.lock ./reflex.lock
COPY assets ./assets
COPY alembic ./alembic
COPY app ./app
ARG REFLEX_API_URL=http://localhost
ENV PATH=/opt/tools/node_modules/.bin:/opt/venv/bin:$PATH \
    REFLEX_USE_SYSTEM_BUN=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_CHECK_LATEST_VERSION=false \
    REFLEX_API_URL=${REFLEX_API_URL}
RUN reflex export --frontend-only --no-zip \
    && test -f .web/build/client/index.html \
    && test -f .web/build/client/404.html

# ---------------------------------------------------------------------------- runtime
FROM ${NGINX_IMAGE} AS runtime
LABEL org.opencontainers.image.title="full-stack-reflex-frontend" \
      org.opencontainers.image.description="Static Reflex UI (reflex export) served by nginx"
COPY docker/nginx/default.conf /etc/nginx/conf.d/default.conf
COPY docker/nginx/snippets /etc/nginx/snippets
COPY --from=build /src/.web/build/client /usr/share/nginx/html
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
STOPSIGNAL SIGQUIT
