#!/usr/bin/env bash
# Back up the PostgreSQL database with pg_dump into a timestamped file, then prune old ones.
#   scripts/deploy/backup.sh [--compose] [--dir DIR] [--keep-days N] [--keep N] [DATABASE_URL]
#
# Where the database is:
#   DATABASE_URL   argument, else $BACKUP_DATABASE_URL, else $DATABASE_URL, else one built from
#                  POSTGRES_SERVER/PORT/USER/PASSWORD/DB; pg_dump runs on this machine.
#   --compose      pg_dump runs inside the stack's `db` container (docker compose exec) as
#                  the container's POSTGRES_USER on its POSTGRES_DB, so the server needs no
#                  PostgreSQL client and the client matches the server's version.
#                  COMPOSE (default "docker compose") and COMPOSE_FILE choose the stack.
# Output: DIR/<database>-<UTC yyyymmddTHHMMSSZ>.dump in pg_dump's custom format (restore it with
# scripts/deploy/restore.sh), written under a temporary name and checked with pg_restore --list
# before it gets its final name; the path is printed on the last line.
# Retention, after a successful dump, among DIR/<database>-*.dump only:
#   --keep-days N  delete backups older than N days   ($BACKUP_KEEP_DAYS, default 14; 0 = never)
#   --keep N       keep only the N newest backups      ($BACKUP_KEEP, default 0 = no limit)
# --dir defaults to $BACKUP_DIR, else ./backups.
set -euo pipefail

# log, die, usage, libpq_url, and mode (url, or compose after --compose: shared_option).
# shellcheck source=scripts/deploy/db_args.sh
source "$(dirname "${BASH_SOURCE[0]}")/db_args.sh"

dir="${BACKUP_DIR:-backups}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
keep="${BACKUP_KEEP:-0}"
url=""
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="${2:?--dir needs a folder}"; shift ;;
    --keep-days) keep_days="${2:?--keep-days needs a number}"; shift ;;
    --keep) keep="${2:?--keep needs a number}"; shift ;;
    -*) shared_option "$1" ;;
    *) url="$1" ;;
    esac
    shift
done
[[ "$keep_days" =~ ^[0-9]+$ ]] || die "--keep-days must be a whole number of days, not '$keep_days'"
[[ "$keep" =~ ^[0-9]+$ ]] || die "--keep must be a whole number of files, not '$keep'"

# The database name of a URL (path after the host, without query string).
url_database() {
    local rest="${1#*://}"
    rest="${rest#*/}"
    rest="${rest%%\?*}"
    printf '%s\n' "${rest:-postgres}"
}

if [ "$mode" = compose ]; then
    read -r -a compose <<<"${COMPOSE:-docker compose}"
    # The container's own POSTGRES_USER and POSTGRES_DB (set from .env by compose.yml).
    database="$("${compose[@]}" exec -T db printenv POSTGRES_DB)" ||
        die "cannot reach the db service with '${compose[*]} exec' (is the stack up?)"
    dump() {
        # shellcheck disable=SC2016  # expanded by the container's shell
        "${compose[@]}" exec -T db sh -c 'exec pg_dump --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --format custom --no-owner --no-privileges'
    }
    check() { "${compose[@]}" exec -T db pg_restore --list >/dev/null; }
    where="the db service (${compose[*]} exec db)"
else
    if [ -z "$url" ]; then
        url="${BACKUP_DATABASE_URL:-${DATABASE_URL:-}}"
    fi
    if [ -z "$url" ] && [ -n "${POSTGRES_SERVER:-}" ]; then
        url="postgresql://${POSTGRES_USER:-postgres}:${POSTGRES_PASSWORD:-}@${POSTGRES_SERVER}:${POSTGRES_PORT:-5432}/${POSTGRES_DB:-app}"
    fi
    [ -n "$url" ] || die "no database: pass a URL, or set BACKUP_DATABASE_URL, DATABASE_URL or POSTGRES_SERVER"
    url="$(libpq_url "$url")"
    [[ "$url" == postgresql://* ]] || die "only PostgreSQL can be backed up (got '${url%%://*}://...')"
    command -v pg_dump >/dev/null 2>&1 || die "pg_dump not found (apt-get install postgresql-client), or use --compose"
    database="$(url_database "$url")"
    dump() { pg_dump --dbname "$url" --format custom --no-owner --no-privileges; }
    check() { pg_restore --list "$1" >/dev/null; }
    # Shown without user and password.
    where="postgresql://${url##*@}"
fi

mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$dir/$database-$stamp.dump"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT

log "pg_dump of database '$database' from $where"
dump >"$partial" || die "pg_dump failed; nothing was written"
if [ "$mode" = compose ]; then
    check <"$partial" || die "the dump does not read back (pg_restore --list failed)"
else
    check "$partial" || die "the dump does not read back (pg_restore --list failed)"
fi
mv "$partial" "$target"
trap - EXIT
log "wrote $target ($(du -h "$target" | cut -f1))"

# ---------------------------------------------------------------------------- retention
if [ "$keep_days" -gt 0 ]; then
    while IFS= read -r -d '' old; do
        log "retention: deleting $old (older than $keep_days days)"
        rm -f -- "$old"
    done < <(find "$dir" -maxdepth 1 -type f -name "$database-*.dump" -mtime "+$((keep_days - 1))" -print0)
fi
if [ "$keep" -gt 0 ]; then
    mapfile -t backups < <(find "$dir" -maxdepth 1 -type f -name "$database-*.dump" -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
    for old in "${backups[@]:$keep}"; do
        log "retention: deleting $old (keeping the $keep newest)"
        rm -f -- "$old"
    done
fi
printf '%s\n' "$target"
