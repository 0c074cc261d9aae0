#!/usr/bin/env bash
# One command for the API benchmark: tools, services, a fresh database, the backend as
# production runs it, S1-S5 with wrk and the bare references, one markdown table.
#   bench/run.sh                      # 1 worker, 32/64/256 connections, 20 s runs
#   bench/run.sh --workers 2 --duration 10 --connections 64
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/services.sh
if ! command -v wrk >/dev/null 2>&1; then
    echo "Installing wrk (Debian package)"
    apt-get update -qq && apt-get install -y -qq wrk
fi
# shellcheck source=scripts/env.sh
source scripts/env.sh
exec python bench/bench.py "$@"
