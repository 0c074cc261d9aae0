#!/usr/bin/env bash
# A highly available PostgreSQL on this machine, for development, tests and the drill
# (scripts/deploy/drill.sh): three etcd members and three PostgreSQL members managed by
# Patroni, with synchronous replication (synchronous_mode: true), so that a commit is
# acknowledged only once a standby has it and the leader can die without losing one.
#
#   bash scripts/dev/ha.sh start [BASE_PORT]  start (or resume) the cluster and print its URLs
#   bash scripts/dev/ha.sh env                print the URLs again (shell assignments)
#   bash scripts/dev/ha.sh status             one line per member; exit 0 while one leads
#   bash scripts/dev/ha.sh leader             the leader's port and data folder
#   bash scripts/dev/ha.sh kill-leader        SIGKILL the leader's Patroni and postmaster,
#                                             as a dying host would; prints its port
#   bash scripts/dev/ha.sh stop               stop every process, keeping the data
#   bash scripts/dev/ha.sh remove             stop and delete the data
#
# Ports: twelve in a row from BASE_PORT (etcd clients, etcd peers, PostgreSQL, Patroni's
# REST API; three each), by default the first free block in 16000-16999; a cluster that
# was started before keeps its ports. Data, logs and configuration live in HA_ROOT
# (/tmp/full-stack-reflex-ha); start a second cluster with another HA_ROOT.
#
# The URLs printed by `start` and `env`:
#   DATABASE_URL          libpq multi-host, target_session_attrs=read-write: whichever member
#                         leads (the app's settings accept it, app/core/config.py)
#   DATABASE_REPLICA_URL  the same members with target_session_attrs=prefer-standby
#   PGBACKREST_CONFIG     with HA_BACKUP_REPO set (a folder): the pgBackRest configuration
#                         ha.sh writes, HA_ROOT/pgbackrest.conf, for scripts/deploy/pitr.sh.
#                         Whichever member leads archives its WAL into that repository
#                         (archive_timeout 60 s) under stanza HA_STANZA (app); backups are
#                         taken from the leader, whichever it is.
# Needs PostgreSQL's server tools, patroni and etcd (installed with apt-get when missing,
# as root); PostgreSQL runs as the postgres OS user when started by root.
set -euo pipefail

HA_ROOT=${HA_ROOT:-/tmp/full-stack-reflex-ha}
HA_STANZA=${HA_STANZA:-app}
HA_DATABASE=${HA_DATABASE:-app}
WAIT_SECONDS=${HA_WAIT_SECONDS:-90}
PORT_RANGE=(16000 16999)
MEMBERS=(1 2 3)

log() { printf '[ha] %s\n' "$*" >&2; }
die() {
    printf '[ha] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() { die "usage: bash scripts/dev/ha.sh start [BASE_PORT] | env | status | leader | kill-leader | stop | remove"; }

[ $# -ge 1 ] || usage
command=$1
shift

# ---------------------------------------------------------------------------- tools
install_tools() {
    local missing=()
    command -v patroni >/dev/null 2>&1 || missing+=(patroni python3-etcd)
    command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
    command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
    if [ -n "${HA_BACKUP_REPO:-}" ] && ! command -v pgbackrest >/dev/null 2>&1; then
        missing+=(pgbackrest)
    fi
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: apt-get install ${missing[*]} (as root)"
    log "apt-get install ${missing[*]}"
    # Debian would start an etcd on 2379 (and a Patroni) right after installing them; the
    # cluster here runs its own members on its own ports. policy-rc.d says no to that, for
    # the time of the install, where no policy was in place already (as in containers).
    local policy=/usr/sbin/policy-rc.d added=false rc=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# scripts/dev/ha.sh: no service starts while it installs packages.\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added=true
    fi
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120)
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >/dev/null ||
        { "${apt[@]}" update </dev/null >/dev/null &&
            "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >/dev/null; } ||
        rc=$?
    if $added; then
        rm -f "$policy"
    fi
    [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed"
}

# The server binaries of the newest PostgreSQL installed (Debian installs each version apart).
server_bin() {
    local bin
    bin=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -name pg_ctl -path '*/bin/*' 2>/dev/null | sort -V | tail -n1)
    [ -n "$bin" ] || die "PostgreSQL's server tools are not installed (apt-get install postgresql)"
    dirname "$bin"
}

# Run as the OS user PostgreSQL's tools accept: postgres when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    else
        "$@"
    fi
}

# ---------------------------------------------------------------------------- ports
listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# The first block of twelve free ports, from a random block on (wrapping around), so that
# two clusters started at once (a test run and the drill) seldom reach for the same one.
free_block() {
    local blocks=$(((PORT_RANGE[1] - PORT_RANGE[0] + 1) / 12)) first i base port taken
    first=$((RANDOM % blocks))
    for ((i = 0; i < blocks; i++)); do
        base=$((PORT_RANGE[0] + ((first + i) % blocks) * 12))
        taken=0
        for ((port = base; port < base + 12; port++)); do
            if listening "$port"; then
                taken=1
                break
            fi
        done
        if [ "$taken" -eq 0 ]; then
            echo "$base"
            return 0
        fi
    done
    return 1
}

# Ports of member N (1-3) from the cluster's base port.
load_ports() {
    [ -f "$HA_ROOT/base_port" ] || die "no cluster in $HA_ROOT (bash scripts/dev/ha.sh start)"
    BASE=$(cat "$HA_ROOT/base_port")
}
etcd_client_port() { echo $((BASE + $1 - 1)); }
etcd_peer_port() { echo $((BASE + 2 + $1)); }
pg_port() { echo $((BASE + 5 + $1)); }
rest_port() { echo $((BASE + 8 + $1)); }

etcd_endpoints() {
    local n list=()
    for n in "${MEMBERS[@]}"; do list+=("127.0.0.1:$(etcd_client_port "$n")"); done
    local IFS=,
    echo "${list[*]}"
}

# The repository and the three members, for pgBackRest (archive-push, backups, restores).
write_pgbackrest_config() {
    local n
    mkdir -p "$HA_BACKUP_REPO" "$HA_ROOT/pgbackrest-log" "$HA_ROOT/pgbackrest-lock"
    [ "$(id -u)" -ne 0 ] ||
        chown postgres:postgres "$HA_BACKUP_REPO" "$HA_ROOT/pgbackrest-log" "$HA_ROOT/pgbackrest-lock"
    {
        printf '[global]\nrepo1-path=%s\nrepo1-retention-full=2\nstart-fast=y\n' "$HA_BACKUP_REPO"
        printf 'log-path=%s\nlock-path=%s\nlog-level-console=warn\n\n[%s]\n' \
            "$HA_ROOT/pgbackrest-log" "$HA_ROOT/pgbackrest-lock" "$HA_STANZA"
        for n in "${MEMBERS[@]}"; do
            printf 'pg%s-path=%s\npg%s-port=%s\npg%s-socket-path=%s\n' \
                "$n" "$HA_ROOT/pg$n" "$n" "$(pg_port "$n")" "$n" "$HA_ROOT/sock$n"
        done
    } >"$HA_ROOT/pgbackrest.conf"
    chmod 644 "$HA_ROOT/pgbackrest.conf"
}

urls() {
    local n hosts=()
    for n in "${MEMBERS[@]}"; do hosts+=("127.0.0.1:$(pg_port "$n")"); done
    local IFS=,
    echo "DATABASE_URL=postgresql://postgres@${hosts[*]}/$HA_DATABASE?target_session_attrs=read-write"
    echo "DATABASE_REPLICA_URL=postgresql://postgres@${hosts[*]}/$HA_DATABASE?target_session_attrs=prefer-standby"
    if [ -f "$HA_ROOT/pgbackrest.conf" ]; then
        echo "PGBACKREST_CONFIG=$HA_ROOT/pgbackrest.conf"
    fi
}

# ---------------------------------------------------------------------------- processes
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_until SECONDS COMMAND...: run COMMAND twice a second until it succeeds.
wait_until() {
    local tries=$(($1 * 2)) i
    shift
    for ((i = 0; i < tries; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    "$@" >/dev/null 2>&1
}

start_etcd() {
    local n=$1 dir="$HA_ROOT/etcd$1" cluster=() m
    pid_alive "$dir.pid" && return 0
    for m in "${MEMBERS[@]}"; do cluster+=("etcd$m=http://127.0.0.1:$(etcd_peer_port "$m")"); done
    local state=new
    [ -d "$dir/member" ] && state=existing
    mkdir -p "$dir"
    (
        IFS=,
        exec setsid etcd --name "etcd$n" --data-dir "$dir" \
            --listen-client-urls "http://127.0.0.1:$(etcd_client_port "$n")" \
            --advertise-client-urls "http://127.0.0.1:$(etcd_client_port "$n")" \
            --listen-peer-urls "http://127.0.0.1:$(etcd_peer_port "$n")" \
            --initial-advertise-peer-urls "http://127.0.0.1:$(etcd_peer_port "$n")" \
            --initial-cluster "${cluster[*]}" --initial-cluster-state "$state" \
            --initial-cluster-token "full-stack-reflex-ha-$BASE" \
            --enable-v2=true --logger zap --log-outputs stderr
    ) >"$dir.log" 2>&1 </dev/null &
    echo $! >"$dir.pid"
}

etcd_healthy() { ETCDCTL_API=3 etcdctl --endpoints "$(etcd_endpoints)" endpoint health >/dev/null; }

write_patroni_config() {
    local n=$1 archive_lines=""
    if [ -f "$HA_ROOT/pgbackrest.conf" ]; then
        # Each member names its own data folder: pgBackRest reads the WAL file from there.
        archive_lines="    archive_mode: 'on'
    archive_timeout: 60
    archive_command: 'pgbackrest --config=$HA_ROOT/pgbackrest.conf --stanza=$HA_STANZA --pg1-path=$HA_ROOT/pg$n archive-push %p'"
    fi
    as_owner tee "$HA_ROOT/patroni$n.yml" >/dev/null <<EOF
scope: full-stack-reflex-ha-$BASE
namespace: /full-stack-reflex/
name: pg$n
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:$(rest_port "$n")
  connect_address: 127.0.0.1:$(rest_port "$n")
etcd3:
  hosts: $(etcd_endpoints)
bootstrap:
  dcs:
    # The leader key lives 10 s without renewal: a dead leader is replaced within ~12 s.
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    # A commit returns once a standby has flushed it, and only that standby may be
    # promoted: an acknowledged write survives the leader.
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 100
  initdb:
    - encoding: UTF8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication all 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$(pg_port "$n")
  connect_address: 127.0.0.1:$(pg_port "$n")
  data_dir: $HA_ROOT/pg$n
  bin_dir: $(server_bin)
  pgpass: $HA_ROOT/pgpass$n
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
  parameters:
    unix_socket_directories: '$HA_ROOT/sock$n'
    shared_buffers: 64MB
$archive_lines
tags:
  nofailover: false
  noloadbalance: false
EOF
}

start_patroni() {
    local n=$1
    pid_alive "$HA_ROOT/patroni$n.pid" && return 0
    write_patroni_config "$n"
    as_owner mkdir -p "$HA_ROOT/sock$n"
    # A member killed with its postmaster leaves a pid file; Patroni checks it, but a
    # reused pid could fool it.
    as_owner rm -f "$HA_ROOT/pg$n/postmaster.pid"
    # setsid and setpriv exec in place: the pid recorded is Patroni's own.
    if [ "$(id -u)" -eq 0 ]; then
        setsid setpriv --reuid=postgres --regid=postgres --init-groups -- \
            patroni "$HA_ROOT/patroni$n.yml" >>"$HA_ROOT/patroni$n.log" 2>&1 </dev/null &
    else
        setsid patroni "$HA_ROOT/patroni$n.yml" >>"$HA_ROOT/patroni$n.log" 2>&1 </dev/null &
    fi
    echo $! >"$HA_ROOT/patroni$n.pid"
}

# role N: what member N's Patroni says it is (leader, replica, sync_standby, ...), or down.
member_json() { curl -fsS --max-time 2 "http://127.0.0.1:$(rest_port "$1")/patroni" 2>/dev/null; }
role() {
    local json
    json=$(member_json "$1") || {
        echo down
        return
    }
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("role","?"), d.get("state","?"))' <<<"$json"
}

# The member that leads and accepts writes, or nothing.
leader() {
    local n
    for n in "${MEMBERS[@]}"; do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$(rest_port "$n")/primary")" = 200 ]; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

sync_standby() {
    local n
    for n in "${MEMBERS[@]}"; do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$(rest_port "$n")/synchronous")" = 200 ]; then
            return 0
        fi
    done
    return 1
}

psql_member() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(pg_port "$1")" -U postgres -d postgres -c "$2"
}

ensure_database() {
    local n
    n=$(leader) || die "no leader to create database $HA_DATABASE on"
    if [ "$(psql_member "$n" "SELECT count(*) FROM pg_database WHERE datname = '$HA_DATABASE'")" = 0 ]; then
        psql_member "$n" "CREATE DATABASE \"$HA_DATABASE\"" >/dev/null
    fi
    # Replayed by every standby before the URLs are handed out: a standby that lacks the
    # database would send prefer-standby connections to the leader.
    for n in "${MEMBERS[@]}"; do
        wait_until "$WAIT_SECONDS" has_database "$n" ||
            die "member pg$n did not replay CREATE DATABASE $HA_DATABASE in $WAIT_SECONDS s"
    done
}

has_database() { [ "$(psql_member "$1" "SELECT count(*) FROM pg_database WHERE datname = '$HA_DATABASE'")" = 1 ]; }

stop_member_processes() {
    local n=$1 signal=$2 pid
    if pid_alive "$HA_ROOT/patroni$n.pid"; then
        pid=$(cat "$HA_ROOT/patroni$n.pid")
        kill "-$signal" "$pid" 2>/dev/null || true
        wait_until 30 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$HA_ROOT/patroni$n.pid"
}

postmaster_pid() { [ -f "$HA_ROOT/pg$1/postmaster.pid" ] && head -n1 "$HA_ROOT/pg$1/postmaster.pid"; }

stop_all() {
    local n pid
    for n in "${MEMBERS[@]}"; do
        # Patroni stops its PostgreSQL on SIGTERM (fast shutdown).
        stop_member_processes "$n" TERM
        if pid=$(postmaster_pid "$n") && kill -0 "$pid" 2>/dev/null; then
            as_owner "$(server_bin)/pg_ctl" -D "$HA_ROOT/pg$n" -m fast -w stop >/dev/null 2>&1 || true
        fi
    done
    for n in "${MEMBERS[@]}"; do
        if pid_alive "$HA_ROOT/etcd$n.pid"; then
            pid=$(cat "$HA_ROOT/etcd$n.pid")
            kill "$pid" 2>/dev/null || true
            wait_until 15 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$HA_ROOT/etcd$n.pid"
    done
}

# ---------------------------------------------------------------------------- commands
case $command in
start)
    install_tools
    if [ -f "$HA_ROOT/base_port" ]; then
        load_ports
        [ $# -eq 0 ] || [ "$1" = "$BASE" ] || die "the cluster in $HA_ROOT uses ports from $BASE (remove it to change them)"
    else
        if [ $# -ge 1 ]; then
            if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1024 || $1 + 11 > 65535)); then
                die "BASE_PORT must be a port number, not '$1'"
            fi
            BASE=$1
        else
            BASE=$(free_block) || die "no twelve free ports in a row in ${PORT_RANGE[0]}-${PORT_RANGE[1]}"
        fi
        mkdir -p "$HA_ROOT"
        chmod 1777 "$HA_ROOT"
        echo "$BASE" >"$HA_ROOT/base_port"
        if [ -n "${HA_BACKUP_REPO:-}" ]; then
            write_pgbackrest_config
        fi
    fi
    for n in "${MEMBERS[@]}"; do start_etcd "$n"; done
    wait_until "$WAIT_SECONDS" etcd_healthy ||
        die "etcd did not become healthy in $WAIT_SECONDS s: $(tail -n 5 "$HA_ROOT/etcd1.log")"
    # The first member bootstraps the cluster; the others copy it once it leads.
    start_patroni 1
    wait_until "$WAIT_SECONDS" leader ||
        die "no leader within $WAIT_SECONDS s (see $HA_ROOT/patroni1.log): $(tail -n 5 "$HA_ROOT/patroni1.log")"
    for n in 2 3; do start_patroni "$n"; done
    wait_until "$WAIT_SECONDS" sync_standby ||
        die "no synchronous standby within $WAIT_SECONDS s (see $HA_ROOT/patroni2.log): $(tail -n 5 "$HA_ROOT/patroni2.log")"
    for n in "${MEMBERS[@]}"; do
        wait_until "$WAIT_SECONDS" psql_member "$n" "SELECT 1" ||
            die "member pg$n does not answer on port $(pg_port "$n") (see $HA_ROOT/patroni$n.log)"
    done
    ensure_database
    if [ -f "$HA_ROOT/pgbackrest.conf" ]; then
        # The repository's stanza, before the first WAL file is archived (idempotent).
        as_owner pgbackrest --config="$HA_ROOT/pgbackrest.conf" --stanza="$HA_STANZA" stanza-create >/dev/null ||
            die "pgbackrest stanza-create failed (see $HA_ROOT/pgbackrest-log)"
    fi
    log "three members under Patroni, leader pg$(leader), in $HA_ROOT"
    urls
    ;;
env)
    load_ports
    urls
    ;;
status)
    load_ports
    for n in "${MEMBERS[@]}"; do
        printf 'pg%s  port %s  %s\n' "$n" "$(pg_port "$n")" "$(role "$n")"
    done
    leader >/dev/null
    ;;
leader)
    load_ports
    n=$(leader) || die "no member leads"
    echo "$(pg_port "$n") $HA_ROOT/pg$n"
    ;;
kill-leader)
    load_ports
    n=$(leader) || die "no member leads"
    pid=$(postmaster_pid "$n") || die "pg$n has no postmaster.pid"
    # Patroni first, so it cannot restart its PostgreSQL: the whole member is gone, as
    # when its host dies; its leader key expires and a synchronous standby takes over.
    stop_member_processes "$n" KILL
    kill -KILL "$pid"
    log "killed pg$n (port $(pg_port "$n")): Patroni and postmaster $pid"
    pg_port "$n"
    ;;
stop)
    [ -f "$HA_ROOT/base_port" ] || {
        log "no cluster in $HA_ROOT"
        exit 0
    }
    load_ports
    stop_all
    log "stopped (data kept in $HA_ROOT)"
    ;;
remove)
    if [ -f "$HA_ROOT/base_port" ]; then
        load_ports
        stop_all
    fi
    rm -rf "$HA_ROOT"
    log "removed $HA_ROOT"
    ;;
*)
    usage
    ;;
esac
