#!/bin/sh
# The backup schedule of the compose stack (the backup service, and each member of the `ha`
# profile): a full pgBackRest backup on BACKUP_FULL_WEEKDAY (7, Sunday; date +%u), a
# differential one every other day, at BACKUP_HOUR:00 UTC (1). pgBackRest itself turns the
# first one into a full backup, and expires old ones (PGBACKREST_REPO1_RETENTION_FULL).
# Only a primary is backed up: on a standby of the `ha` profile a run does nothing, so
# whichever member leads takes the backups. Everything else comes from PGBACKREST_*
# variables (compose.yml): the stanza, the repository (a volume, or S3), the data folder.
set -eu

hour=${BACKUP_HOUR:-1}
full_weekday=${BACKUP_FULL_WEEKDAY:-7}

log() { printf '[backup-schedule] %s\n' "$*"; }

is_primary() { [ "$(psql -X -A -t -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; }

# Seconds until the next BACKUP_HOUR:00 UTC.
until_next_run() {
    now=$(date -u +%s)
    next=$(date -u -d "today $hour:00" +%s)
    [ "$next" -gt "$now" ] || next=$(date -u -d "tomorrow $hour:00" +%s)
    echo $((next - now))
}

log "waiting for PostgreSQL"
until pg_isready -q -d postgres; do sleep 5; done
# The stanza must exist before archive_command can push a WAL file (idempotent).
until ! is_primary || pgbackrest stanza-create; do
    log "stanza-create failed; trying again in 30 s"
    sleep 30
done

while :; do
    wait_seconds=$(until_next_run)
    log "next backup in $wait_seconds s"
    sleep "$wait_seconds"
    if ! is_primary; then
        log "a standby: the primary takes the backups"
        continue
    fi
    if [ "$(date -u +%u)" = "$full_weekday" ]; then kind="full"; else kind="diff"; fi
    log "pgbackrest backup --type=$kind"
    pgbackrest --type="$kind" backup || log "backup failed (exit $?): pitr.sh check tells why"
done
