#!/usr/bin/env bash
# A streaming read replica of the local PostgreSQL primary, for development and tests:
#
#   bash scripts/dev/replica.sh start PORT    copy the primary (pg_basebackup -R) and run it
#                                         as a hot standby on 127.0.0.1:PORT
#   bash scripts/dev/replica.sh stop PORT     stop it, keeping its data (start resumes streaming)
#   bash scripts/dev/replica.sh remove PORT   stop it and delete its data
#   bash scripts/dev/replica.sh status PORT   exit 0 while it runs
#
# Each command is idempotent: start on a running replica, stop on a stopped one and remove
# on a missing one do nothing. Then point the app at it:
#   DATABASE_REPLICA_URL=postgresql://postgres@127.0.0.1:PORT/<the primary's database>
#
# The primary is PRIMARY_HOST:PRIMARY_PORT (127.0.0.1:5432), reached as the PostgreSQL user
# PRIMARY_USER (postgres) without a password. It needs wal_level=replica and a WAL sender;
# when its pg_hba.conf has no replication line for 127.0.0.1, one (trust, like its other
# local lines) is added and the configuration reloaded: a reload, never a restart. The
# copy lives in REPLICA_ROOT/PORT (/tmp/full-stack-reflex-replicas/PORT), owned by the
# postgres OS user, since PostgreSQL's tools refuse to run as root.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
PRIMARY_USER=${PRIMARY_USER:-postgres}
REPLICA_ROOT=${REPLICA_ROOT:-/tmp/full-stack-reflex-replicas}
WAIT_SECONDS=${REPLICA_WAIT_SECONDS:-60}

log() { printf '[replica] %s\n' "$*"; }
die() {
    printf '[replica] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() { die "usage: bash scripts/dev/replica.sh start|stop|remove|status PORT"; }

[ $# -eq 2 ] || usage
command=$1
port=$2
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    die "PORT must be a TCP port number, not '$port'"
fi
data="$REPLICA_ROOT/$port"

# The OS user PostgreSQL's tools run as: postgres when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

primary_sql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" \
        -d postgres -c "$1"
}

# The server binaries of the primary's major version (Debian installs each version apart).
server_bin() {
    local major
    major=$(primary_sql "SELECT current_setting('server_version_num')::int / 10000")
    [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ] ||
        die "PostgreSQL $major's server tools are not installed (apt-get install postgresql-$major)"
    printf '/usr/lib/postgresql/%s/bin' "$major"
}

running() { [ -f "$data/postmaster.pid" ] && as_owner "$(server_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1; }

allow_replication() {
    local wal_level senders hba
    wal_level=$(primary_sql "SHOW wal_level")
    senders=$(primary_sql "SHOW max_wal_senders")
    if [ "$wal_level" = minimal ] || [ "$senders" -le 0 ]; then
        die "the primary has wal_level=$wal_level and max_wal_senders=$senders: streaming needs wal_level=replica and max_wal_senders > 0, which only a restart of the primary applies"
    fi
    if [ "$(primary_sql "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND (type = 'local' OR address = '$PRIMARY_HOST')")" -eq 0 ]; then
        hba=$(primary_sql "SHOW hba_file")
        [ -w "$hba" ] || die "the primary's $hba allows no replication from $PRIMARY_HOST and cannot be edited here: add 'host replication all $PRIMARY_HOST/32 trust' and reload it"
        log "allowing replication from $PRIMARY_HOST in $hba, then reloading the primary's configuration"
        printf '\n# Added by scripts/dev/replica.sh: streaming replicas on this machine.\nhost replication all %s/32 trust\n' "$PRIMARY_HOST" >>"$hba"
        primary_sql "SELECT pg_reload_conf()" >/dev/null
    fi
}

# A hot standby must allow at least as much as its primary in these settings.
copied_limits() {
    local name
    for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
        printf "%s = %s\n" "$name" "$(primary_sql "SHOW $name")"
    done
}

create() {
    allow_replication
    log "copying the primary $PRIMARY_HOST:$PRIMARY_PORT into $data (pg_basebackup -R)"
    mkdir -p "$REPLICA_ROOT"
    chmod 1777 "$REPLICA_ROOT"
    rm -rf "$data"
    as_owner pg_basebackup -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -D "$data" \
        -R -X stream --checkpoint=fast --no-sync ||
        {
            rm -rf "$data"
            die "pg_basebackup failed (see above)"
        }
    # Debian keeps a cluster's configuration in /etc, so the copy has none: give it its own.
    as_owner tee "$data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
hot_standby = on
shared_buffers = 64MB
# A copy for development and tests, made again from the primary at will: replaying
# another engineer's bulk load must not wait on fsync.
fsync = off
logging_collector = off
$(copied_limits)
EOF
    as_owner tee "$data/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
}

case $command in
start)
    if running; then
        log "already running on 127.0.0.1:$port ($data)"
        exit 0
    fi
    [ -f "$data/standby.signal" ] || create
    # A copy left by a crash keeps a stale pid file; pg_ctl refuses to start over it.
    as_owner rm -f "$data/postmaster.pid"
    as_owner "$(server_bin)/pg_ctl" -D "$data" -l "$data/server.log" -w -t "$WAIT_SECONDS" start >/dev/null ||
        die "the replica did not start on 127.0.0.1:$port (see $data/server.log): $(tail -n 5 "$data/server.log" 2>/dev/null)"
    [ "$(psql -X -A -t -h 127.0.0.1 -p "$port" -U "$PRIMARY_USER" -d postgres -c 'SELECT pg_is_in_recovery()')" = t ] ||
        die "the server on 127.0.0.1:$port is not a standby"
    log "streaming from $PRIMARY_HOST:$PRIMARY_PORT on 127.0.0.1:$port ($data)"
    ;;
stop)
    if running; then
        as_owner "$(server_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        log "stopped 127.0.0.1:$port (data kept in $data)"
    else
        log "not running on 127.0.0.1:$port"
    fi
    ;;
remove)
    if running; then
        as_owner "$(server_bin)/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
    fi
    rm -rf "$data"
    log "removed the replica of port $port"
    ;;
status)
    running
    ;;
*)
    usage
    ;;
esac
