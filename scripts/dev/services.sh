#!/usr/bin/env bash
# Make sure the services the tests and a full local stack use are running:
#   PostgreSQL on 127.0.0.1:5432   started with pg_ctlcluster (Debian's postgresql package)
#   Redis      on 127.0.0.1:6379   started as a daemon that keeps nothing on disk
# Each is left alone when it already answers. Exits non-zero, saying why, if one cannot be
# started. Starting them needs root (as on CI and the project's dev machines).
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=30

log() { printf '[services] %s\n' "$*"; }
die() {
    printf '[services] ERROR: %s\n' "$*" >&2
    exit 1
}

# wait_until SECONDS COMMAND...: run COMMAND once a second until it succeeds.
wait_until() {
    local seconds=$1 i
    shift
    for ((i = 0; i < seconds; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    "$@" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------- PostgreSQL
pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }

command -v pg_isready >/dev/null 2>&1 ||
    die "pg_isready not found: install PostgreSQL (apt-get install postgresql)"
if pg_ready; then
    log "PostgreSQL: accepting connections on $PG_HOST:$PG_PORT"
else
    command -v pg_ctlcluster >/dev/null 2>&1 ||
        die "PostgreSQL is not answering on $PG_HOST:$PG_PORT and pg_ctlcluster is not installed (apt-get install postgresql, or start a server there yourself)"
    version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1)"
    [ -n "$version" ] ||
        die "PostgreSQL is not answering on $PG_HOST:$PG_PORT and no cluster is configured in /etc/postgresql"
    log "PostgreSQL: starting: pg_ctlcluster --skip-systemctl-redirect $version main start"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        log "PostgreSQL: pg_ctlcluster exited non-zero; waiting for the server anyway"
    wait_until "$WAIT_SECONDS" pg_ready ||
        die "PostgreSQL did not accept connections on $PG_HOST:$PG_PORT within $WAIT_SECONDS s (see /var/log/postgresql/postgresql-$version-main.log)"
    log "PostgreSQL: accepting connections on $PG_HOST:$PG_PORT"
fi

# ---------------------------------------------------------------------------- Redis
redis_ready() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

command -v redis-cli >/dev/null 2>&1 ||
    die "redis-cli not found: install Redis (apt-get install redis-server)"
if redis_ready; then
    log "Redis: answering PING on $REDIS_HOST:$REDIS_PORT"
else
    command -v redis-server >/dev/null 2>&1 ||
        die "Redis is not answering on $REDIS_HOST:$REDIS_PORT and redis-server is not installed (apt-get install redis-server)"
    mkdir -p /var/lib/redis /var/log/redis
    log "Redis: starting redis-server on $REDIS_HOST:$REDIS_PORT (no persistence, log /var/log/redis/ci.log)"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log ||
        die "redis-server failed to start (see /var/log/redis/ci.log)"
    wait_until "$WAIT_SECONDS" redis_ready ||
        die "Redis did not answer PING on $REDIS_HOST:$REDIS_PORT within $WAIT_SECONDS s (see /var/log/redis/ci.log)"
    log "Redis: answering PING on $REDIS_HOST:$REDIS_PORT"
fi
