#!/usr/bin/env bash
# The container test (tests/containers): build the images from docker/*.Dockerfile with
# Podman and run the stack, the smoke test, a backend failover and rolling deploys (with a
# rollback) under load. `.ci/run` runs it as its own step; by hand, as root:
#   bash scripts/containers/test.sh [pytest arguments]
# Installs what it needs with apt-get when missing (podman runc debootstrap uidmap
# slirp4netns fuse-overlayfs nginx chromium); base images come from bases.sh (cached by
# tag). Needs PostgreSQL and Redis on 127.0.0.1 (scripts/dev/services.sh) and .venv
# (scripts/setup.sh). Figures (image sizes, cold start, failed/sent requests during the
# deploys) are printed at the end and written to $CONTAINER_REPORT when set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >/dev/null

missing=()
for tool in podman runc debootstrap slirp4netns newuidmap fuse-overlayfs nginx chromium; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    packages=()
    for tool in "${missing[@]}"; do
        case "$tool" in
        newuidmap) packages+=(uidmap) ;;
        *) packages+=("$tool") ;;
        esac
    done
    echo "[containers] apt-get install ${packages[*]}"
    [ "$(id -u)" -eq 0 ] || { echo "[containers] ERROR: installing needs root" >&2; exit 1; }
    env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -o DPkg::Lock::Timeout=120 update >/dev/null
    env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -o DPkg::Lock::Timeout=120 \
        install -y --no-install-recommends "${packages[@]}" </dev/null >/dev/null
fi

export CONTAINER_TESTS=1
exec .venv/bin/python -m pytest tests/containers -p no:cacheprovider -ra "$@"
