#!/usr/bin/env bash
# The benchmark suite in one command: tools, services, a fresh database per part, the
# app started as production starts it, one markdown table per part.
#   bench/run.sh                          # API (S1-S5 + references), then UI
#   bench/run.sh --api-only --workers 2 --duration 10 --connections 64
#   bench/run.sh --ui-only --sessions 100 --seconds 30
#   bench/run.sh --flood --rate 200      # a normal user's latency during a login flood
#   bench/run.sh --overhead --rounds 3   # S2/S5 with and without request logs and metrics
#   bench/run.sh --scale --parts reads   # 1M items/users (issue #12; see bench/scale.py)
#   bench/run.sh --live --tabs 200       # open Items tables refreshed by writes elsewhere
#   bench/run.sh --tabs 1000             # signed-in tabs on two replicas at a human pace
#   bench/run.sh --guard                 # S2, S3, S5 against bench/REFERENCE; fails under
#                                        # 0.9x of it (GUARD_RATIO, GUARD_ROUNDS)
# Arguments after --api-only / --ui-only / --flood / --overhead / --scale / --live go to
# bench/bench.py / bench/ui.py / bench/flood.py / bench/overhead.py / bench/scale.py /
# bench/live.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >/dev/null
bash scripts/dev/services.sh
if ! command -v wrk >/dev/null 2>&1; then
    echo "Installing wrk (Debian package)"
    apt-get update -qq && apt-get install -y -qq wrk
fi
case "${1:-}" in
--api-only | --flood | --overhead | --live | --guard | --tabs) ;;
*)
    if [ ! -x /usr/bin/chromium ]; then
        echo "Installing chromium (Debian package)"
        apt-get update -qq && apt-get install -y -qq chromium
    fi
    ;;
esac
# shellcheck source=scripts/env.sh
source scripts/env.sh
case "${1:-}" in
--api-only) shift && exec python bench/bench.py "$@" ;;
--ui-only) shift && exec python bench/ui.py "$@" ;;
--flood) shift && exec python bench/flood.py "$@" ;;
--overhead) shift && exec python bench/overhead.py "$@" ;;
--scale) shift && exec python bench/scale.py "$@" ;;
--live) shift && exec python bench/live.py "$@" ;;
--tabs) exec python bench/tabs.py "$@" ;;
--guard)
    shift
    # The reference: the commit named in bench/REFERENCE; in a clone that lacks it (a
    # shallow one), the merge base with the default branch.
    ref=$(sed -n 's/^\([0-9a-f]\{7,40\}\).*/\1/p' bench/REFERENCE | head -n1)
    if ! git cat-file -e "$ref^{commit}" 2>/dev/null; then
        ref=$(git merge-base HEAD origin/main 2>/dev/null || git rev-parse HEAD~1)
    fi
    exec python bench/compare.py --ref "$ref" --scenarios S2,S3,S5 \
        --guard "${GUARD_RATIO:-0.9}" --rounds "${GUARD_ROUNDS:-3}" --duration 8 "$@"
    ;;
*)
    python bench/bench.py "$@"
    python bench/ui.py
    ;;
esac
