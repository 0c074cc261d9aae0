#!/usr/bin/env bash
# Run the tests: scripts/test.sh [pytest arguments], e.g. scripts/test.sh -q tests/api
# COVERAGE=1 runs them under coverage.py (branch coverage of app/, see pyproject.toml).
#
# Database: by default each run migrates a fresh SQLite file in a temporary folder.
# Set TEST_DATABASE_URL to a PostgreSQL *server* URL to run on PostgreSQL instead, e.g.
#   TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres scripts/test.sh
# The conftest (tests/database.py) then creates its own `test_<random>` database on that
# server and drops it at the end; the database named in the URL is only used to connect,
# and the dev database is never touched. scripts/dev/services.sh starts a local server.
#
# Browser tests drive Debian's Chromium (/usr/bin/chromium). When it is missing it is
# installed with apt-get (root, or passwordless sudo), unless SKIP_BROWSER_INSTALL is set
# (to anything). tests/deploy runs the stack behind Debian's nginx, installed the same way
# when missing (unless SKIP_NGINX_INSTALL is set).
# Locally a tool that cannot be installed is a warning and the tests that need it skip,
# saying what to install. In CI (CI=true) it is an error, and so is every such test
# (tests/skip_policy.py): CI must never go green on a suite that did not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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

# apt_install PACKAGE WHAT: install a Debian package, warning (not failing) if it cannot.
apt_install() {
    local package=$1 what=$2 sudo=()
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "apt-get not found: cannot install $package; $what will skip"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            warn "not root and no passwordless sudo: cannot install $package; $what will skip"
            return 0
        fi
    fi
    local apt=(${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive
        timeout 900 apt-get -q -o DPkg::Lock::Timeout=120)
    echo "[test] $package is missing: apt-get update && apt-get install $package"
    if "${apt[@]}" update </dev/null &&
        "${apt[@]}" install -y "$package" </dev/null; then
        echo "[test] $package installed"
    else
        warn "installing $package failed; $what will skip"
    fi
}

if [ -x /usr/bin/chromium ]; then
    echo "[test] Chromium: /usr/bin/chromium present"
elif [ -n "${SKIP_BROWSER_INSTALL+set}" ]; then
    echo "[test] Chromium: missing, not installed (SKIP_BROWSER_INSTALL is set); browser tests will skip"
else
    echo "[test] Chromium: missing (set SKIP_BROWSER_INSTALL=1 to skip installing it)"
    apt_install chromium "browser tests"
fi

if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; then
    echo "[test] nginx: present"
elif [ -n "${SKIP_NGINX_INSTALL+set}" ]; then
    echo "[test] nginx: missing, not installed (SKIP_NGINX_INSTALL is set); tests/deploy will skip"
else
    apt_install nginx "tests/deploy"
fi

# promtool and amtool check the alerting rules and the Alertmanager config (tests/deploy).
if command -v promtool >/dev/null 2>&1; then
    echo "[test] promtool: present"
else
    apt_install prometheus "tests/deploy/test_monitoring.py"
fi
if command -v amtool >/dev/null 2>&1; then
    echo "[test] amtool: present"
else
    apt_install prometheus-alertmanager "tests/deploy/test_monitoring.py"
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
