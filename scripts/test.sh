#!/usr/bin/env bash
# Run the tests: scripts/test.sh [--no-install] [pytest arguments], e.g. scripts/test.sh -q tests/api
# COVERAGE=1 runs them under coverage.py (branch coverage of app/, see pyproject.toml).
#
# Database: by default each run migrates a fresh SQLite file in a temporary folder.
# Set TEST_DATABASE_URL to a PostgreSQL *server* URL to run on PostgreSQL instead, e.g.
#   TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres scripts/test.sh
# The conftest (tests/database.py) then creates its own `test_<random>` database on that
# server and drops it at the end; the database named in the URL is only used to connect,
# and the dev database is never touched. scripts/dev/services.sh starts a local server.
#
# Browser tests drive Debian's Chromium (/usr/bin/chromium); tests/deploy runs the stack
# behind Debian's nginx and checks the alerts with promtool and amtool. Those missing are
# listed, with what needs each, then installed with one apt-get (root, or passwordless
# sudo); `--no-install` installs nothing (SKIP_BROWSER_INSTALL / SKIP_NGINX_INSTALL, set to
# anything, leave out those two alone).
# Locally a tool that cannot be installed is a warning and the tests that need it skip,
# saying what to install. In CI (CI=true) it is an error, and so is every such test
# (tests/skip_policy.py): CI must never go green on a suite that did not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INSTALL=1
if [ "${1:-}" = "--no-install" ]; then
    INSTALL=0
    shift
fi
bash "$ROOT/scripts/setup.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

warn() {
    if [ "${CI:-}" = "true" ]; then
        printf '[test] ERROR (CI=true): %s\n' "$*" >&2
        exit 1
    fi
    printf '[test] WARNING: %s\n' "$*" >&2
}

# The Debian packages some tests need, each with what needs it: PACKAGE|WHAT.
missing=()
need() {
    local package=$1 what=$2
    shift 2
    if "$@"; then
        echo "[test] $package: present"
    else
        missing+=("$package|$what")
    fi
}
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if [ -n "${SKIP_BROWSER_INSTALL+set}" ] && [ ! -x /usr/bin/chromium ]; then
    echo "[test] chromium: missing, not installed (SKIP_BROWSER_INSTALL is set); browser tests will skip"
else
    need chromium "the browser tests" test -x /usr/bin/chromium
fi
if [ -n "${SKIP_NGINX_INSTALL+set}" ] && ! has nginx; then
    echo "[test] nginx: missing, not installed (SKIP_NGINX_INSTALL is set); tests/deploy will skip"
else
    need nginx "tests/deploy (the proxy standing in for Traefik)" has nginx
fi
# promtool and amtool check the alerting rules and the Alertmanager config.
need prometheus "tests/deploy/test_monitoring.py (promtool)" has promtool
need prometheus-alertmanager "tests/deploy/test_monitoring.py (amtool)" has amtool

# install_missing: say what will be installed, and for what, before apt-get runs (as
# root, or with passwordless sudo); `--no-install` says it and installs nothing.
install_missing() {
    local packages=() entry sudo=()
    for entry in "${missing[@]}"; do
        echo "[test]   ${entry%%|*}: for ${entry#*|}"
        packages+=("${entry%%|*}")
    done
    if [ "$INSTALL" -eq 0 ]; then
        warn "not installing ${packages[*]} (--no-install): the tests that need them will skip"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "apt-get not found: cannot install ${packages[*]}; the tests that need them will skip"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            warn "not root and no passwordless sudo: cannot install ${packages[*]}; the tests that need them will skip"
            return 0
        fi
    fi
    local apt=(${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive
        timeout 900 apt-get -q -o DPkg::Lock::Timeout=120)
    echo "[test] apt-get update && apt-get install -y ${packages[*]} (scripts/test.sh --no-install skips this)"
    if "${apt[@]}" update </dev/null && "${apt[@]}" install -y "${packages[@]}" </dev/null; then
        echo "[test] installed: ${packages[*]}"
    else
        warn "installing ${packages[*]} failed; the tests that need them will skip"
    fi
}
if [ "${#missing[@]}" -gt 0 ]; then
    echo "[test] Debian packages some tests need are missing:"
    install_missing
fi

if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "[test] database: a fresh database on the server of TEST_DATABASE_URL"
else
    echo "[test] database: a fresh SQLite file (set TEST_DATABASE_URL for PostgreSQL)"
fi
if [ -n "${COVERAGE:-}" ]; then
    # Branch coverage of app/, also in the servers the tests start (pyproject.toml);
    # `python -m coverage combine && python -m coverage report` afterwards.
    echo "[test] python -m coverage run -m pytest $*"
    exec python -m coverage run -m pytest "$@"
fi
echo "[test] python -m pytest $*"
exec python -m pytest "$@"
