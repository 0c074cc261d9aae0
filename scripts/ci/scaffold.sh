#!/usr/bin/env bash
# A generated entity passes the project's checks without an edit (issue #23):
# `python -m devtools.scaffold` in a scratch copy of this checkout's HEAD, then exactly
# what a developer runs next:
#   alembic upgrade head (a fresh SQLite file, then a fresh PostgreSQL database) and back,
#   ruff check, ruff format --check, mypy, and the entity's tests (service, API, browser)
#   with the migration tests (`alembic check`: the models and the history agree) on
#   SQLite and on PostgreSQL.
# Usage: scripts/ci/scaffold.sh [NAME FIELD...] (default: one field of every type, owned,
# and a shared entity). Needs scripts/setup.sh done (.venv, .tools) and, for the
# PostgreSQL pass, TEST_DATABASE_URL or PostgreSQL at 127.0.0.1:5432. ~4 minutes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_SERVER="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
SCRATCH="$(mktemp -d /tmp/scaffold-check.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT

log() { printf '[scaffold-check] %s\n' "$*"; }

git clone --quiet "$ROOT" "$SCRATCH/app"
cd "$SCRATCH/app"
# The checkout's environment, not a second install: what is checked is the generator.
ln -s "$ROOT/.venv" .venv
ln -s "$ROOT/.tools" .tools
# shellcheck source=/dev/null
source .venv/bin/activate
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

tests=(tests/services/test_migrations_and_prestart.py tests/services/test_live_registry.py)
generated=0
generate() {
    log "python -m devtools.scaffold $*"
    python -m devtools.scaffold "$@"
    generated=$((generated + 1))
}
if [ "$#" -gt 0 ]; then
    generate "$@"
    many=$(git status --porcelain -- app/models | sed -n 's#^?? app/models/\(.*\)\.py$#\1#p')
    tests+=("tests/services/test_${many}_service.py" "tests/api/test_${many}.py" "tests/ui/test_${many}.py")
else
    generate Project name:str notes:text? due:date? budget:float? priority:int done:bool \
        starts_at:datetime?
    generate Tag label:str weight:float? --no-owned --icon tag
    for many in projects tags; do
        tests+=("tests/services/test_${many}_service.py" "tests/api/test_${many}.py" "tests/ui/test_${many}.py")
    done
fi

log "alembic upgrade head, downgrade and upgrade again on a fresh SQLite database"
export DATABASE_URL="sqlite:///$SCRATCH/dev.db"
alembic upgrade head
alembic downgrade "-$generated"
alembic upgrade head
log "alembic upgrade head on a fresh PostgreSQL database"
database="scaffold_$(date +%s)_$$"
psql "$PG_SERVER" -qc "CREATE DATABASE $database"
DATABASE_URL="${PG_SERVER%/*}/$database" alembic upgrade head
psql "$PG_SERVER" -qc "DROP DATABASE $database"
unset DATABASE_URL

log "ruff check, ruff format --check, mypy"
ruff check --no-cache .
ruff format --no-cache --check .
mypy --no-incremental

log "the new tests and the migration tests on SQLite"
python -m pytest -q -p no:cacheprovider --fail-on-skip "${tests[@]}"
log "the same on PostgreSQL"
TEST_DATABASE_URL="$PG_SERVER" python -m pytest -q -p no:cacheprovider --fail-on-skip "${tests[@]}"
log "a generated entity passed every check unedited"
