#!/usr/bin/env bash
# Mutation testing of the rules (app/services) with mutmut: each mutant is a one-token
# change to a service function (a flipped comparison, a dropped argument, another
# constant); the service and API tests that reach that function run against it, on a
# fresh SQLite database, and must fail. Not part of CI: a full pass takes ~15 minutes on
# two cores. Configuration: [tool.mutmut] in pyproject.toml.
#   bash scripts/dev/mutation.sh                 # every mutant of app/services
#   MUTATION_CHILDREN=4 bash scripts/dev/mutation.sh
# Prints killed / total and every surviving mutant; `.venv/bin/mutmut show NAME` shows
# one as a diff. Results are kept in mutants/ (git-ignored); a second run only redoes
# what changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >/dev/null
# shellcheck source=scripts/env.sh
source scripts/env.sh
unset TEST_DATABASE_URL

# mutmut draws a progress line per mutant; keep only the last state of it.
.venv/bin/mutmut run --max-children "${MUTATION_CHILDREN:-2}" | tr '\r' '\n' | tail -n 3
.venv/bin/mutmut export-cicd-stats >/dev/null
python - <<'EOF'
import json

stats = json.load(open("mutants/mutmut-cicd-stats.json"))
checked = stats["total"] - stats.get("not_checked", 0)
print(
    f"mutation: {stats['killed']} killed of {checked} "
    f"({stats['killed'] / max(checked, 1):.0%}); survived {stats['survived']}, "
    f"timeout {stats.get('timeout', 0)}, suspicious {stats.get('suspicious', 0)}, "
    f"no tests {stats.get('no_tests', 0)}"
)
EOF
echo "surviving mutants (.venv/bin/mutmut show NAME):"
.venv/bin/mutmut results | grep -v ': killed$' || true
