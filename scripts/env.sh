# shellcheck shell=bash
# Sourced by the other scripts (and usable in an interactive shell: `source scripts/env.sh`):
# puts the project's own tools first on PATH and sets the Reflex variables every run needs.
#   .tools/reflex/bun/bin     bun as Reflex downloads it, by scripts/setup.sh when none is on PATH
#   .tools/node_modules/.bin  bun from the npm registry, setup.sh's fallback without GitHub
#   .tools/node/bin           Node.js from the npm registry, when the system's is older than Reflex asks
#   .venv/bin                 python, reflex, pytest, ruff, mypy, pre-commit
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.tools/reflex/bun/bin:$ROOT/.tools/node_modules/.bin:$ROOT/.tools/node/bin:$ROOT/.venv/bin:$PATH"
# Use that bun (or a recent one of the system's): without this, Reflex would download
# its own again into ~/.local/share/reflex on the first run.
export REFLEX_USE_SYSTEM_BUN=1
export REFLEX_TELEMETRY_ENABLED=false
