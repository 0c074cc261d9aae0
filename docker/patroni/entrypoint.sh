#!/bin/sh
# A member of the `ha` profile: the backup schedule in the background (it backs up only
# while this member leads), then Patroni, which starts, stops and promotes PostgreSQL.
# The member's own name and addresses come from PATRONI_* variables (compose.yml).
set -eu

export PGHOST=/var/run/postgresql PGUSER="${PATRONI_SUPERUSER_USERNAME:-postgres}"
export PGPASSWORD="${PATRONI_SUPERUSER_PASSWORD:-}"
backup-schedule &
exec patroni /etc/patroni/patroni.yml
