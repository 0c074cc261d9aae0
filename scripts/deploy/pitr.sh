#!/usr/bin/env bash
# Point-in-time recovery with pgBackRest: the live cluster archives every WAL file into a
# repository (archive_command; archive_timeout = 60 s, so at most 60 s of writes are lost
# with the whole server: the RPO), full and differential backups go to the same repository,
# and any moment since the oldest full backup kept can be restored.
#
#   scripts/deploy/pitr.sh backup [--type full|diff|incr]   (default: pgBackRest's incr,
#                                  which is a full one while none exists)
#   scripts/deploy/pitr.sh check   archiving works end to end (a WAL switch reaches the
#                                  repository), every file in the repository matches its
#                                  checksum (verify), then the backups and WAL range (info)
#   scripts/deploy/pitr.sh restore --port P [--time "YYYY-MM-DD HH:MM:SS+00"] [--data DIR]
#                                  restore into a NEW cluster on 127.0.0.1:P beside the live
#                                  one (DIR, default PITR_RESTORE_ROOT/P), replay WAL up to
#                                  the time (default: the newest archived), promote it and
#                                  print its URL on the last line. It never archives.
#   scripts/deploy/pitr.sh restore --in-place [--time ...]
#                                  over the live cluster's own data (pg1-path), which must be
#                                  stopped; asks to type the stanza's name first
#   scripts/deploy/pitr.sh stop --port P [--remove]   stop a restored cluster (and delete it)
#   --compose (before the command): backup and check run pgBackRest inside the stack's db
#                                  service (docker compose exec; COMPOSE, default "docker compose")
#
# Settings (environment):
#   PGBACKREST_CONFIG   pgBackRest's configuration file (/etc/pgbackrest/pgbackrest.conf),
#                       the one the live cluster's archive_command reads: the repository
#                       (repo1-path, a local folder; or repo1-type=s3 with repo1-s3-bucket,
#                       repo1-s3-endpoint, repo1-s3-region, the keys as PGBACKREST_REPO1_S3_KEY
#                       and PGBACKREST_REPO1_S3_KEY_SECRET) and, under [STANZA], the live
#                       cluster (pg1-path, pg1-port, pg1-socket-path; pg2-..., pg3-... for
#                       the members of a Patroni cluster: backups are taken from the leader).
#                       Any pgBackRest option may also be set as PGBACKREST_<OPTION>.
#   PITR_STANZA         the stanza (app)
#   PITR_DATABASE       the database named in the printed URL (app)
#   PITR_RESTORE_ROOT   where new clusters are restored (/var/tmp/full-stack-reflex-restores)
#   PITR_WAIT_SECONDS   how long a restored cluster may take to replay and promote (600)
# pgBackRest and PostgreSQL's tools run as the postgres OS user when started by root;
# pgbackrest is installed with apt-get when missing (as root).
set -euo pipefail

PGBACKREST_CONFIG=${PGBACKREST_CONFIG:-/etc/pgbackrest/pgbackrest.conf}
STANZA=${PITR_STANZA:-app}
DATABASE=${PITR_DATABASE:-app}
RESTORE_ROOT=${PITR_RESTORE_ROOT:-/var/tmp/full-stack-reflex-restores}
WAIT_SECONDS=${PITR_WAIT_SECONDS:-600}

log() { printf '[pitr] %s\n' "$*" >&2; }
die() {
    printf '[pitr] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

compose=()
if [ "${1:-}" = --compose ]; then
    read -r -a compose <<<"${COMPOSE:-docker compose}"
    shift
fi
[ $# -ge 1 ] || usage
command=$1
shift

backup_type="" port="" target_time="" data="" in_place=false remove=false
while [ $# -gt 0 ]; do
    case "$1" in
    --type) backup_type="${2:?--type needs full, diff or incr}"; shift ;;
    --port) port="${2:?--port needs a port}"; shift ;;
    --time) target_time="${2:?--time needs a time}"; shift ;;
    --data) data="${2:?--data needs a folder}"; shift ;;
    --in-place) in_place=true ;;
    --remove) remove=true ;;
    -h | --help) usage 0 ;;
    *) log "unknown argument: $1"; usage ;;
    esac
    shift
done
case "$backup_type" in "" | full | diff | incr) ;; *) die "--type must be full, diff or incr, not '$backup_type'" ;; esac
if [ -n "$port" ] && { ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1024 || port > 65535)); }; then
    die "--port must be a TCP port number from 1024, not '$port'"
fi
if [ -n "$target_time" ] && ! [[ $target_time =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?[+-][0-9]{2}(:?[0-9]{2})?$ ]]; then
    die "--time must read YYYY-MM-DD HH:MM:SS+00 (a UTC offset is required), not '$target_time'"
fi

# Run as the OS user PostgreSQL's files belong to: postgres when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pgbackrest_cmd() {
    if [ "${#compose[@]}" -gt 0 ]; then
        "${compose[@]}" exec -T --user postgres db pgbackrest --stanza="$STANZA" "$@"
    else
        as_owner env PGBACKREST_CONFIG="$PGBACKREST_CONFIG" pgbackrest --stanza="$STANZA" "$@"
    fi
}

install_pgbackrest() {
    [ "${#compose[@]}" -eq 0 ] || return 0
    command -v pgbackrest >/dev/null 2>&1 && return 0
    [ "$(id -u)" -eq 0 ] || die "pgbackrest is not installed: apt-get install pgbackrest (as root)"
    log "apt-get install pgbackrest"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120)
    "${apt[@]}" install -y --no-install-recommends pgbackrest </dev/null >/dev/null ||
        { "${apt[@]}" update </dev/null >/dev/null &&
            "${apt[@]}" install -y --no-install-recommends pgbackrest </dev/null >/dev/null; } ||
        die "apt-get install pgbackrest failed"
}

need_config() {
    [ "${#compose[@]}" -gt 0 ] || [ -r "$PGBACKREST_CONFIG" ] ||
        die "no pgBackRest configuration at $PGBACKREST_CONFIG (set PGBACKREST_CONFIG; docs/operations.md, Backups)"
}

# The live cluster's data folder: pg1-path from the environment or the stanza's section.
live_path() {
    if [ -n "${PGBACKREST_PG1_PATH:-}" ]; then
        echo "$PGBACKREST_PG1_PATH"
        return
    fi
    awk -v section="[$STANZA]" '
        /^\[/ { inside = ($0 == section) }
        inside && /^pg1-path=/ { sub(/^pg1-path=/, ""); print; exit }' "$PGBACKREST_CONFIG"
}

# The server tools of the major version a data folder was made by.
server_bin() {
    local major
    major=$(cat "$1/PG_VERSION")
    [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ] ||
        die "PostgreSQL $major's server tools are not installed (apt-get install postgresql-$major)"
    echo "/usr/lib/postgresql/$major/bin"
}

listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

sql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$data" -p "$port" -U postgres -d postgres -c "$1"
}

# A hot standby, and so a cluster in recovery, must allow as much as the backed-up one did.
recorded_limits() {
    local bin=$1
    as_owner "$bin/pg_controldata" "$data" | awk -F: '
        /^max_connections setting/ { printf "max_connections = %d\n", $2 }
        /^max_worker_processes setting/ { printf "max_worker_processes = %d\n", $2 }
        /^max_wal_senders setting/ { printf "max_wal_senders = %d\n", $2 }
        /^max_prepared_xacts setting/ { printf "max_prepared_transactions = %d\n", $2 }
        /^max_locks_per_xact setting/ { printf "max_locks_per_transaction = %d\n", $2 }'
}

# The restored copy gets a configuration of its own: the backed-up one names the live
# cluster's port, its archive_command and, in a Patroni cluster, synchronous standbys
# that would make every write wait forever.
configure_copy() {
    local bin=$1
    if [ -f "$data/postgresql.conf" ]; then
        as_owner mv "$data/postgresql.conf" "$data/postgresql.conf.from-backup"
    fi
    as_owner tee "$data/postgresql.conf" >/dev/null <<EOF
# Written by scripts/deploy/pitr.sh restore: a copy restored beside the live cluster.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
archive_mode = off
synchronous_standby_names = ''
shared_buffers = 128MB
logging_collector = off
$(recorded_limits "$bin")
EOF
    # Debian keeps pg_hba.conf in /etc: a copy of such a cluster has none.
    if [ ! -f "$data/pg_hba.conf" ]; then
        as_owner tee "$data/pg_hba.conf" >/dev/null <<EOF
local all all peer
host all all 127.0.0.1/32 scram-sha-256
EOF
    fi
    as_owner rm -f "$data/standby.signal" "$data/postmaster.pid"
}

# What a restore replays: up to the time asked, then promote; else all archived WAL.
replay=()
if [ -n "$target_time" ]; then
    replay=(--type=time "--target=$target_time" --target-action=promote)
fi

restore_new() {
    [ -n "$port" ] || die "restore needs --port P (or --in-place)"
    listening "$port" && die "port $port is taken: pick a free one"
    data=${data:-$RESTORE_ROOT/$port}
    if [ -e "$data" ] && [ -n "$(ls -A "$data" 2>/dev/null)" ]; then
        die "$data is not empty: stop and remove the copy there first (pitr.sh stop --port $port --remove)"
    fi
    mkdir -p "$data"
    chmod 1777 "$(dirname "$data")" 2>/dev/null || true
    [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$data"
    chmod 700 "$data"
    log "restoring stanza $STANZA into $data${target_time:+ up to $target_time}"
    pgbackrest_cmd --pg1-path="$data" --archive-mode=off ${replay[@]+"${replay[@]}"} restore ||
        die "pgbackrest restore failed (see above)"
    local bin
    bin=$(server_bin "$data")
    configure_copy "$bin"
    log "replaying WAL on 127.0.0.1:$port (log: $data/server.log)"
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t "$WAIT_SECONDS" start >/dev/null ||
        die "the restored cluster did not start (see $data/server.log): $(tail -n 5 "$data/server.log" 2>/dev/null)"
    local deadline=$((SECONDS + WAIT_SECONDS))
    until [ "$(sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; do
        as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 ||
            die "the restored cluster stopped while replaying (a time past the newest archived WAL?): $(tail -n 5 "$data/server.log")"
        ((SECONDS < deadline)) || die "the restored cluster was still replaying after $WAIT_SECONDS s (see $data/server.log)"
        sleep 0.5
    done
    log "restored and promoted: $data on 127.0.0.1:$port"
    echo "postgresql://postgres@127.0.0.1:$port/$DATABASE"
}

restore_in_place() {
    local live answer
    live=$(live_path)
    [ -n "$live" ] || die "no pg1-path for stanza $STANZA in $PGBACKREST_CONFIG"
    [ -t 0 ] || die "--in-place overwrites $live and asks for a typed confirmation: run it in a terminal"
    printf "This overwrites the live cluster's data in %s with the backup%s.\nThe server must be stopped. Type the stanza's name (%s) to go on: " \
        "$live" "${target_time:+ replayed up to $target_time}" "$STANZA" >&2
    read -r answer
    [ "$answer" = "$STANZA" ] || die "not confirmed: nothing was changed"
    # --delta: files that match the backup are kept; pgBackRest refuses while the server runs.
    pgbackrest_cmd --delta ${replay[@]+"${replay[@]}"} restore ||
        die "pgbackrest restore failed (see above)"
    log "restored into $live: start the server; it replays WAL${target_time:+ up to $target_time}, then promotes"
}

stop_copy() {
    [ -n "$port" ] || [ -n "$data" ] || die "stop needs --port P (or --data DIR)"
    data=${data:-$RESTORE_ROOT/$port}
    if [ -f "$data/PG_VERSION" ] && as_owner "$(server_bin "$data")/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$(server_bin "$data")/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        log "stopped the restored cluster in $data"
    fi
    if $remove; then
        rm -rf "$data"
        log "removed $data"
    fi
}

case $command in
backup)
    install_pgbackrest
    need_config
    # Idempotent: creates the stanza the first time, checks it matches the cluster after.
    pgbackrest_cmd stanza-create >/dev/null || die "pgbackrest stanza-create failed (see above)"
    log "backup${backup_type:+ --type=$backup_type} of stanza $STANZA"
    pgbackrest_cmd ${backup_type:+"--type=$backup_type"} backup || die "pgbackrest backup failed (see above)"
    pgbackrest_cmd info | sed -n '/backup:/,$p' | tail -n 6 >&2
    ;;
check)
    install_pgbackrest
    need_config
    pgbackrest_cmd check || die "archiving does not work (pgbackrest check, above)"
    pgbackrest_cmd verify || die "the repository does not verify (pgbackrest verify, above)"
    pgbackrest_cmd info
    log "ok: WAL reaches the repository and every file in it verifies"
    ;;
restore)
    [ "${#compose[@]}" -eq 0 ] || die "restore runs where the data goes: on the database host (docs/operations.md)"
    install_pgbackrest
    need_config
    if $in_place; then
        restore_in_place
    else
        restore_new
    fi
    ;;
stop)
    stop_copy
    ;;
*)
    usage
    ;;
esac
