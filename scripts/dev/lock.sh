#!/usr/bin/env bash
# Regenerate the pinned requirement sets from their direct dependencies, with uv's
# `pip compile` (uv is in requirements-dev.txt):
#   requirements.in     -> requirements.txt       the runtime set: every package the images
#                                                 and a production install get, exact versions
#   requirements-dev.in -> requirements-dev.txt   tests and tools, constrained by the runtime
#                                                 lock so both sets agree on shared packages
# Universal locks (markers instead of one platform's choices) for Python 3.11+. Existing
# pins are kept unless an .in file asks otherwise; `--upgrade` moves every transitive to its
# newest allowed version. `--check` regenerates into a temporary folder and fails if a
# committed lock differs (CI: tests/deploy/test_requirements.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
UV="${UV:-$ROOT/.venv/bin/uv}"
[ -x "$UV" ] || UV="$(command -v uv)" || {
    echo "[lock] uv not found: bash scripts/setup.sh installs it into .venv" >&2
    exit 1
}

check=false
extra=()
for arg in "$@"; do
    case "$arg" in
    --check) check=true ;;
    --upgrade) extra+=(--upgrade) ;;
    *) echo "usage: scripts/dev/lock.sh [--check | --upgrade]" >&2; exit 2 ;;
    esac
done

compile() {
    local input=$1 output=$2
    shift 2
    "$UV" pip compile --quiet --universal --python-version 3.11 --annotation-style line \
        --custom-compile-command "bash scripts/dev/lock.sh" ${extra[@]+"${extra[@]}"} \
        "$input" "$@" -o "$output"
}

if $check; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cp requirements.txt requirements-dev.txt "$work/"
    compile requirements.in "$work/requirements.txt"
    compile requirements-dev.in "$work/requirements-dev.txt" -c requirements.txt
    stale=0
    for lock in requirements.txt requirements-dev.txt; do
        if ! diff -u "$lock" "$work/$lock"; then
            echo "[lock] $lock is not what its .in file compiles to: run bash scripts/dev/lock.sh" >&2
            stale=1
        fi
    done
    exit "$stale"
fi
compile requirements.in requirements.txt
compile requirements-dev.in requirements-dev.txt -c requirements.txt
echo "[lock] requirements.txt and requirements-dev.txt regenerated"
