#!/usr/bin/env bash
# Restore a backup made by scripts/deploy/backup.sh into a given database, creating it if needed.
#   scripts/deploy/restore.sh [--compose] [--clean] DUMP_FILE TARGET
#
#   TARGET       a database URL (postgresql://user:pw@host:5432/name): pg_restore runs on this
#                machine; with --compose, only a database name on the stack's `db` service.
#   --clean      drop the objects the dump contains before restoring them (for restoring over
#                an existing database; without it the target must not have those tables yet).
# The target database is created when it does not exist (through the server's `postgres`
# maintenance database). The restore runs in one transaction and stops at the first error,
# so a failed restore leaves the target as it was. Owners and grants are not restored: the
# objects belong to the user that restores them.
# Example, checking last night's backup without touching the live database:
#   scripts/deploy/restore.sh backups/app-20250101T030000Z.dump postgresql://postgres@127.0.0.1/app_check
set -euo pipefail

# log, die, usage, libpq_url, and mode (url, or compose after --compose: shared_option).
# shellcheck source=scripts/deploy/db_args.sh
source "$(dirname "${BASH_SOURCE[0]}")/db_args.sh"

clean=()
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --clean) clean=(--clean --if-exists) ;;
    -*) shared_option "$1" ;;
    *) args+=("$1") ;;
    esac
    shift
done
[ "${#args[@]}" -eq 2 ] || usage
dump_file="${args[0]}"
target="${args[1]}"
[ -f "$dump_file" ] || die "no such backup file: $dump_file"

# Double any " so a name can be quoted as a SQL identifier; ' for a literal.
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }

if [ "$mode" = compose ]; then
    read -r -a compose <<<"${COMPOSE:-docker compose}"
    database="$target"
    [[ "$database" != *://* ]] || die "with --compose, TARGET is a database name, not a URL"
    psql_admin() {
        # shellcheck disable=SC2016  # expanded by the container's shell
        "${compose[@]}" exec -T db sh -c 'exec psql --username "$POSTGRES_USER" --dbname postgres -v ON_ERROR_STOP=1 -qtA "$@"' psql "$@"
    }
    restore() {
        # shellcheck disable=SC2016  # expanded by the container's shell
        "${compose[@]}" exec -T db sh -c 'exec pg_restore --username "$POSTGRES_USER" "$@"' pg_restore \
            --dbname "$database" --no-owner --no-privileges --single-transaction --exit-on-error \
            "${clean[@]}" <"$dump_file"
    }
    where="the db service (${compose[*]} exec db)"
else
    url="$(libpq_url "$target")"
    [[ "$url" == postgresql://* ]] || die "TARGET must be a PostgreSQL URL (postgresql://...), or use --compose NAME"
    command -v pg_restore >/dev/null 2>&1 || die "pg_restore not found (apt-get install postgresql-client), or use --compose"
    rest="${url#*://}"
    [[ "$rest" == */* ]] || die "TARGET names no database: $target"
    authority="${rest%%/*}"
    database="${rest#*/}"
    query=""
    if [[ "$database" == *\?* ]]; then
        query="?${database#*\?}"
        database="${database%%\?*}"
    fi
    [ -n "$database" ] || die "TARGET names no database: $target"
    admin_url="postgresql://$authority/postgres$query"
    psql_admin() { psql --dbname "$admin_url" -v ON_ERROR_STOP=1 -qtA "$@"; }
    restore() {
        pg_restore --dbname "$url" --no-owner --no-privileges --single-transaction --exit-on-error \
            "${clean[@]}" "$dump_file"
    }
    where="postgresql://${authority##*@}"
fi

exists="$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = $(sql_literal "$database")")"
if [ "$exists" = 1 ]; then
    log "database '$database' exists on $where"
else
    log "creating database '$database' on $where"
    psql_admin -c "CREATE DATABASE $(sql_ident "$database")" >/dev/null
fi
log "pg_restore $dump_file into '$database'${clean:+ (--clean)}"
restore || die "pg_restore failed; the transaction was rolled back"
log "restored $dump_file into '$database'"
