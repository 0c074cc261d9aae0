# shellcheck shell=bash
# Sourced by the other scripts (and usable in an interactive shell: `source scripts/env.sh`):
# puts the project's own tools first on PATH and sets the Reflex variables every run needs.
#   .tools/node_modules/.bin  bun, installed by scripts/setup.sh when none is on PATH
#   .venv/bin                 python, reflex, pytest, ruff, mypy, pre-commit
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.tools/node_modules/.bin:$ROOT/.venv/bin:$PATH"
# Use the bun found on PATH: Reflex's own installer downloads bun, which cannot work here.
export REFLEX_USE_SYSTEM_BUN=1
export REFLEX_TELEMETRY_ENABLED=false
