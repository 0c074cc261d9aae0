#!/usr/bin/env bash
# Run the app: setup, migrations and the first superuser (app.prestart), then `reflex run`.
#   scripts/run.sh                    dev mode: UI on :3000, backend (and /api/v1) on :8000
#   scripts/run.sh --env prod         one port (3000) for the built UI and the backend
#   scripts/run.sh --env prod --backend-only --backend-port 8000
# Any arguments go to `reflex run`. Settings come from the environment or .env (see
# .env.example). With none set it runs on SQLite (app.db), prints emails to the console,
# keeps a generated secret key in .secret_key and creates admin@example.com / changethis.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

echo "[run] python -m app.prestart (wait for the database, migrate, first superuser)"
python -m app.prestart
echo "[run] reflex run $*"
exec reflex run "$@"
