#!/usr/bin/env bash
# Build the backend and frontend images from docker/*.Dockerfile, unchanged, with Podman or
# Docker:
#   scripts/containers/build.sh [--tag TAG] [--local-bases] [backend] [frontend]
#     --tag TAG       image tag (default: the commit, git rev-parse --short HEAD)
#     --local-bases   base images from scripts/containers/bases.sh (no registry needed)
# Images: $DOCKER_IMAGE_BACKEND:TAG and $DOCKER_IMAGE_FRONTEND:TAG (defaults
# full-stack-reflex-backend / -frontend, as compose.yml). Podman builds in the docker format,
# because the OCI format drops HEALTHCHECK.
# Building behind a TLS-intercepting proxy: BUILD_CA_BUNDLE=/path/ca.pem (default: the
# host's $SSL_CERT_FILE when set) is mounted over the build containers' CA bundle and
# named as npm's and bun's CA file, in the build steps only: nothing of it is written into
# an image. BUILD_CA_BUNDLE=none turns that off.
# Other env: CONTAINER_ENGINE (podman), REFLEX_API_URL (frontend build argument).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
ENGINE="${CONTAINER_ENGINE:-podman}"
BACKEND_IMAGE="${DOCKER_IMAGE_BACKEND:-full-stack-reflex-backend}"
FRONTEND_IMAGE="${DOCKER_IMAGE_FRONTEND:-full-stack-reflex-frontend}"

log() { printf '[build] %s\n' "$*"; }
die() {
    printf '[build] ERROR: %s\n' "$*" >&2
    exit 1
}

tag=""
local_bases=false
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --tag) tag="${2:?--tag needs a value}"; shift ;;
    --local-bases) local_bases=true ;;
    backend | frontend) targets+=("$1") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
    shift
done
[ "${#targets[@]}" -gt 0 ] || targets=(backend frontend)
tag="${tag:-$(git rev-parse --short HEAD 2>/dev/null || echo latest)}"

args=(build --network host)
if [ "$(basename "$ENGINE")" = podman ]; then
    # Docker format keeps HEALTHCHECK; runc and explicit limits for hosts whose cgroups or
    # rlimits podman's defaults do not fit (see docs/deployment.md, "Container test").
    args+=(--format docker --runtime "${PODMAN_RUNTIME:-runc}"
        --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
fi
if $local_bases; then
    bash "$ROOT/scripts/containers/bases.sh"
    args+=(--build-arg PYTHON_IMAGE=localhost/python:3.11-slim-bookworm
        --build-arg NODE_IMAGE=localhost/node:22-bookworm-slim
        --build-arg NGINX_IMAGE=localhost/nginx-unprivileged:bookworm)
fi

ca="${BUILD_CA_BUNDLE:-${SSL_CERT_FILE:-}}"
TRUST=""
trap '[ -z "$TRUST" ] || rm -rf "$TRUST"' EXIT
if [ -n "$ca" ] && [ "$ca" != none ]; then
    [ -f "$ca" ] || die "BUILD_CA_BUNDLE=$ca is not a file"
    # Bind mounts exist only while a RUN step runs: the bundle for pip (Debian's reads the
    # system bundle), npm's global npmrc and bun's global config naming it as their CA file.
    TRUST="$(mktemp -d)"
    printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$TRUST/npmrc"
    printf '[install]\ncafile = "/etc/ssl/certs/ca-certificates.crt"\n' >"$TRUST/bunfig.toml"
    args+=(--volume "$ca:/etc/ssl/certs/ca-certificates.crt:ro"
        --volume "$TRUST/npmrc:/usr/local/etc/npmrc:ro"
        --volume "$TRUST/npmrc:/root/.npmrc:ro"
        --volume "$TRUST/bunfig.toml:/root/.bunfig.toml:ro")
    log "build-time CA bundle: $ca"
fi

for target in "${targets[@]}"; do
    image="$BACKEND_IMAGE"
    extra=()
    if [ "$target" = frontend ]; then
        image="$FRONTEND_IMAGE"
        extra=(--build-arg "REFLEX_API_URL=${REFLEX_API_URL:-http://localhost}")
    fi
    log "$ENGINE build -f docker/$target.Dockerfile -t $image:$tag"
    started=$SECONDS
    "$ENGINE" "${args[@]}" "${extra[@]}" -f "docker/$target.Dockerfile" -t "$image:$tag" .
    log "$image:$tag built in $((SECONDS - started)) s"
done
