#!/usr/bin/env bash
# Prepare this checkout for development, tests and CI. Idempotent: a second run only checks.
#   1. .venv (python3 -m venv; Python 3.11+), recreated if it is missing or broken
#   2. requirements-dev.txt (the runtime lock plus the tools) into .venv, only when the
#      requirements changed since the last install (hash stamp in .venv/.requirements.sha256)
#   3. bun for Reflex: the one on PATH if it is recent enough; else Reflex's own download
#      (its installer and pinned version, into .tools/reflex/bun), given BUN_DOWNLOAD_SECONDS
#      (default 60; it gives up at once when GitHub cannot be resolved or reached); else, as a
#      fallback for machines that cannot reach GitHub, the bun package from the npm registry
#      into .tools/node_modules
#   4. Node.js for Reflex: the one on PATH if it is as recent as Reflex asks
#      (reflex_base.constants.Node.MIN_VERSION); else the official build from the npm
#      registry (node-<os>-<arch>@NODE_VERSION) into .tools/node, with npm
#   5. oidc-provider (OIDC_PROVIDER_VERSION) from the npm registry into .tools/node_modules:
#      the OpenID provider the single sign-on tests run on Node (devtools/oidc)
# Needs: python3 (3.11+) with venv; npm for the fallbacks.
# Runs from any folder. Env: PYTHON (default python3) picks the interpreter for a new .venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
# The version Reflex 0.10.1 pins and its minimum (reflex_base.constants.Bun.VERSION and
# MIN_VERSION): bun 1.4 writes reflex.lock/bun.lock in a format older bun cannot read.
BUN_VERSION="1.4.4"
BUN_MIN_VERSION="1.4.4"
# Where each way puts it; scripts/env.sh (and devtools.servers.tool_path) put both on PATH.
REFLEX_BUN="$ROOT/.tools/reflex/bun/bin/bun"
NPM_BUN="$ROOT/.tools/node_modules/.bin/bun"

log() { printf '[setup] %s\n' "$*"; }
die() {
    printf '[setup] ERROR: %s\n' "$*" >&2
    exit 1
}

# version_ge A B: true when dotted version A >= B.
version_ge() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# ---------------------------------------------------------------------------- Python venv
venv_ok() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import sys, pip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

if venv_ok; then
    log "Python: .venv ok ($("$VENV/bin/python" --version 2>&1))"
else
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or newer"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$("$PYTHON" --version 2>&1) is too old: Python 3.11 or newer is needed (set PYTHON=...)"
    if [ -e "$VENV" ]; then
        log "Python: .venv is broken or too old, recreating it"
        rm -rf "$VENV"
    fi
    log "Python: creating .venv with $("$PYTHON" --version 2>&1) ($(command -v "$PYTHON"))"
    "$PYTHON" -m venv "$VENV" ||
        die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    log "Python: upgrading pip in .venv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --upgrade pip
fi

# ---------------------------------------------------------------------------- requirements
# Both locks (requirements-dev.txt holds every runtime pin too) and the
# interpreter's version: a change to any of them means a new install.
requirements_hash() {
    {
        "$VENV/bin/python" -VV
        cat requirements.txt requirements-dev.txt
    } | sha256sum | cut -d' ' -f1
}

wanted="$(requirements_hash)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
    log "Requirements: unchanged since the last install, nothing to do"
else
    log "Requirements: installing requirements-dev.txt into .venv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        -r requirements-dev.txt
    printf '%s\n' "$wanted" >"$STAMP"
    log "Requirements: installed (stamp $STAMP)"
fi

# ---------------------------------------------------------------------------- bun
# Prints the version of the bun at $1 (digits and dots only), fails if it does not run.
bun_version() {
    local out
    out="$("$1" --version 2>/dev/null)" || return 1
    out="${out%%[!0-9.]*}"
    [ -n "$out" ] && printf '%s\n' "$out"
}

usable_bun() {
    local found
    found="$(bun_version "$1")" && version_ge "$found" "$BUN_MIN_VERSION"
}

# Reflex's own bun download (reflex.utils.js_runtimes.install_bun, the way `reflex run`
# gets bun on a fresh machine), into .tools/reflex instead of the user's home so that
# each checkout keeps its own. A probe of the installer's URL first, so a machine without
# GitHub falls back within seconds instead of waiting out the download's time limit.
reflex_download_bun() {
    local seconds="${BUN_DOWNLOAD_SECONDS:-60}"
    timeout 15 env -u REFLEX_USE_SYSTEM_BUN "$VENV/bin/python" - <<'PY' || return 1
import sys

import httpx
from reflex_base.constants import Bun

try:
    httpx.head(Bun.INSTALL_URL, timeout=10, follow_redirects=True).raise_for_status()
except httpx.HTTPError as error:
    print(f"[setup] bun: cannot reach {Bun.INSTALL_URL} ({error})")
    sys.exit(1)
PY
    log "bun: Reflex's own download (at most ${seconds} s) into .tools/reflex/bun"
    timeout "$seconds" env -u REFLEX_USE_SYSTEM_BUN REFLEX_DIR="$ROOT/.tools/reflex" \
        "$VENV/bin/python" -c 'from reflex.utils.js_runtimes import install_bun; install_bun()' \
        </dev/null || return 1
    usable_bun "$REFLEX_BUN"
}

npm_install_bun() {
    command -v npm >/dev/null 2>&1 ||
        die "npm not found: install Node.js 20+ with npm, or put bun >= $BUN_MIN_VERSION on PATH"
    log "bun: npm install --no-audit --no-fund --save-exact --prefix .tools bun@$BUN_VERSION"
    # A time limit, so that an unreachable registry fails here instead of hanging.
    timeout 600 npm install --no-audit --no-fund --save-exact --prefix .tools "bun@$BUN_VERSION" </dev/null ||
        die "npm install bun@$BUN_VERSION failed or took over 10 minutes (is the npm registry reachable?)"
    # The package's postinstall puts the platform binary in place; an npm that skips
    # install scripts leaves a placeholder, so run the postinstall by hand then.
    if ! usable_bun "$NPM_BUN" && [ -f .tools/node_modules/bun/install.js ]; then
        log "bun: running the bun package's postinstall (npm skipped it)"
        (cd .tools/node_modules/bun && node install.js) || true
    fi
    usable_bun "$NPM_BUN" ||
        die "$NPM_BUN --version does not work after npm install (see the npm output above)"
    log "bun: $(bun_version "$NPM_BUN") installed at .tools/node_modules/.bin/bun"
}

# The same PATH order as scripts/env.sh: the project-local bun wins.
current_bun="$(PATH="$ROOT/.tools/reflex/bun/bin:$ROOT/.tools/node_modules/.bin:$PATH" command -v bun || true)"
if [ -n "$current_bun" ] && usable_bun "$current_bun"; then
    log "bun: $(bun_version "$current_bun") at $current_bun ok (>= $BUN_MIN_VERSION)"
else
    if [ -n "$current_bun" ]; then
        log "bun: $current_bun is not usable (version '$(bun_version "$current_bun" || true)', need >= $BUN_MIN_VERSION)"
    else
        log "bun: none on PATH"
    fi
    if reflex_download_bun; then
        log "bun: $(bun_version "$REFLEX_BUN") installed at .tools/reflex/bun/bin/bun"
    else
        log "bun: Reflex's own download failed; falling back to the npm registry"
        npm_install_bun
    fi
fi

# ---------------------------------------------------------------------------- Node.js
# Reflex builds with bun, but checks Node.js at every start and warns below its minimum.
# The 22 line, as the frontend image's node:22; at least what Reflex asks for.
NODE_VERSION="22.23.5"
LOCAL_NODE="$ROOT/.tools/node/bin/node"
NODE_MIN_VERSION="$("$VENV/bin/python" -c 'from reflex_base.constants import Node; print(Node.MIN_VERSION)')"

node_version() { "$1" --version 2>/dev/null | sed 's/^v//'; }
usable_node() { [ -x "$1" ] && version_ge "$(node_version "$1")" "$NODE_MIN_VERSION"; }

npm_install_node() {
    local os arch package
    case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) return 1 ;;
    esac
    case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) return 1 ;;
    esac
    package="node-$os-$arch"
    log "node: npm install --no-audit --no-fund --save-exact --prefix .tools $package@$NODE_VERSION"
    timeout 600 npm install --no-audit --no-fund --save-exact --prefix .tools \
        "$package@$NODE_VERSION" </dev/null || return 1
    mkdir -p "$ROOT/.tools/node/bin"
    ln -sf "$ROOT/.tools/node_modules/$package/bin/node" "$LOCAL_NODE"
    usable_node "$LOCAL_NODE"
}

# The same PATH order as scripts/env.sh: the project-local node wins.
current_node="$(PATH="$ROOT/.tools/node/bin:$PATH" command -v node || true)"
if [ -n "$current_node" ] && usable_node "$current_node"; then
    log "node: $(node_version "$current_node") at $current_node ok (>= $NODE_MIN_VERSION)"
elif command -v npm >/dev/null 2>&1 && npm_install_node; then
    log "node: $(node_version "$LOCAL_NODE") installed at .tools/node/bin/node (Reflex asks for >= $NODE_MIN_VERSION)"
else
    log "warning: no Node.js >= $NODE_MIN_VERSION (found: ${current_node:-none}) and it could not be installed from the npm registry; Reflex builds with bun and only warns"
fi

# ---------------------------------------------------------------------------- axe-core
# The accessibility checker tests/ui/test_accessibility.py injects into Chromium (one
# file, 0.6 MB); scripts/ci/lighthouse.sh installs Lighthouse itself, when it runs.
AXE_VERSION="4.14.1"
installed_axe="$(node -p "require('$ROOT/.tools/node_modules/axe-core/package.json').version" 2>/dev/null || true)"
if [ "$installed_axe" = "$AXE_VERSION" ]; then
    log "axe-core: $AXE_VERSION ok"
elif command -v npm >/dev/null 2>&1; then
    log "axe-core: npm install --no-audit --no-fund --save-exact --prefix .tools axe-core@$AXE_VERSION"
    timeout 600 npm install --no-audit --no-fund --save-exact --prefix .tools "axe-core@$AXE_VERSION" </dev/null ||
        die "npm install axe-core@$AXE_VERSION failed (is the npm registry reachable?)"
else
    log "warning: no npm to install axe-core; tests/ui/test_accessibility.py will fail"
fi

# ---------------------------------------------------------------------------- oidc-provider
# A certified OpenID provider for the sign-on tests (devtools/oidc/provider.mjs); only the
# tests use it. Pinned, and installed again only when another version is there.
OIDC_PROVIDER_VERSION="9.13.3"
OIDC_PACKAGE="$ROOT/.tools/node_modules/oidc-provider/package.json"
installed_oidc="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$OIDC_PACKAGE" 2>/dev/null | head -n1 || true)"
if [ "$installed_oidc" = "$OIDC_PROVIDER_VERSION" ]; then
    log "oidc-provider: $OIDC_PROVIDER_VERSION ok"
elif command -v npm >/dev/null 2>&1; then
    log "oidc-provider: npm install --no-audit --no-fund --save-exact --prefix .tools oidc-provider@$OIDC_PROVIDER_VERSION"
    timeout 600 npm install --no-audit --no-fund --save-exact --prefix .tools \
        "oidc-provider@$OIDC_PROVIDER_VERSION" </dev/null ||
        log "warning: npm install oidc-provider failed; the sign-on tests will skip (and fail in CI)"
else
    log "warning: npm not found: oidc-provider not installed; the sign-on tests will skip (and fail in CI)"
fi
log "done"
