#!/usr/bin/env bash
# Deploy the stack on this server, in the order of "Deployment Steps Detail"
# (docs/diagrams.md): backup -> pull -> down -> up -> migrations -> health check.
#   scripts/deploy.sh --env staging|production [--tag TAG] [--skip-backup] [--dry-run]
#
# Run from the deployment folder: compose.yml, compose.prod.yml, scripts/ and the server's
# .env (secrets, DOMAIN, ACME_EMAIL, ENVIRONMENT). The GitHub workflow copies the files and
# runs this over SSH; by hand it is the same command.
#   1. backup      production only: scripts/backup.sh --compose into $BACKUP_DIR (default
#                  ./backups; retention $BACKUP_KEEP_DAYS/$BACKUP_KEEP); skipped when the
#                  database is not running yet (first deploy) or with --skip-backup
#   2. pull        docker compose pull: the images CI built ($DOCKER_IMAGE_BACKEND,
#                  $DOCKER_IMAGE_FRONTEND, tag $TAG or --tag)
#   3. down        docker compose down --remove-orphans (volumes, so the data, are kept)
#   4. up          docker compose up -d --no-build
#   5. migrations  waits for the prestart service (wait for the database, alembic upgrade
#                  head, first superuser) and fails the deploy if it did not exit 0
#   6. health      polls $DEPLOY_HEALTH_URL (default https://$DOMAIN/api/v1/utils/health-check/)
#                  until it answers 200, at most $DEPLOY_HEALTH_TIMEOUT s (default 180)
# --dry-run prints the steps and their commands in order and changes nothing.
# COMPOSE (default "docker compose") and COMPOSE_FILE (default compose.yml:compose.prod.yml)
# choose the compose command and files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[deploy] %s\n' "$*"; }
die() {
    printf '[deploy] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

env_name=""
dry_run=false
skip_backup=false
while [ $# -gt 0 ]; do
    case "$1" in
    --env) env_name="${2:?--env needs staging or production}"; shift ;;
    --env=*) env_name="${1#--env=}" ;;
    --tag) export TAG="${2:?--tag needs an image tag}"; shift ;;
    --skip-backup) skip_backup=true ;;
    --dry-run) dry_run=true ;;
    -h | --help) usage 0 ;;
    *) log "unknown argument: $1"; usage ;;
    esac
    shift
done
case "$env_name" in
staging | production) ;;
*) die "--env must be staging or production" ;;
esac

export COMPOSE_FILE="${COMPOSE_FILE:-compose.yml:compose.prod.yml}"
read -r -a compose <<<"${COMPOSE:-docker compose}"
backup_dir="${BACKUP_DIR:-backups}"
health_timeout="${DEPLOY_HEALTH_TIMEOUT:-180}"

# The last KEY=value of .env (quotes removed), for the few values this script needs itself.
env_file_value() {
    [ -f .env ] || return 0
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" .env | tail -n1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}
domain="${DOMAIN:-$(env_file_value DOMAIN)}"
health_url="${DEPLOY_HEALTH_URL:-https://${domain:-\$DOMAIN}/api/v1/utils/health-check/}"

steps=(backup pull down up migrations health)
step_number=0
# step NAME DESCRIPTION: announce the next step (the only output of a dry run).
step() {
    step_number=$((step_number + 1))
    log "step $step_number/${#steps[@]} $1: $2"
}

# ---------------------------------------------------------------------------- checks
if ! $dry_run; then
    [ -f .env ] || die "no .env in $ROOT: copy .env.example and set the secrets (docs/deployment.md)"
    configured="${ENVIRONMENT:-$(env_file_value ENVIRONMENT)}"
    [ "$configured" = "$env_name" ] ||
        die ".env says ENVIRONMENT=${configured:-<unset>} but this is a $env_name deploy"
    [ -n "$domain" ] || die "DOMAIN is not set (in .env or the environment)"
    "${compose[@]}" config --quiet || die "the compose files do not resolve (see above)"
fi
log "deploying ${TAG:-latest} to $env_name with ${compose[*]} (COMPOSE_FILE=$COMPOSE_FILE)"
$dry_run && log "dry run: the commands are printed, not run"

# ---------------------------------------------------------------------------- 1. backup
if [ "$env_name" != production ]; then
    step backup "skipped ($env_name: only production is backed up before a deploy)"
elif $skip_backup; then
    step backup "skipped (--skip-backup: the pipeline's backup job has just made one)"
else
    step backup "bash scripts/backup.sh --compose --dir $backup_dir"
    if ! $dry_run; then
        if [ -n "$("${compose[@]}" ps --status running --quiet db 2>/dev/null)" ]; then
            bash scripts/backup.sh --compose --dir "$backup_dir"
        else
            log "backup: the db service is not running (first deploy?): nothing to back up"
        fi
    fi
fi

# ---------------------------------------------------------------------------- 2. pull
step pull "${compose[*]} pull --quiet"
$dry_run || "${compose[@]}" pull --quiet

# ---------------------------------------------------------------------------- 3. down
step down "${compose[*]} down --remove-orphans"
$dry_run || "${compose[@]}" down --remove-orphans

# ---------------------------------------------------------------------------- 4. up
step up "${compose[*]} up -d --no-build"
# The backends start only once prestart has succeeded; if it fails, `up` fails too, and
# the next step says why.
up_rc=0
$dry_run || "${compose[@]}" up -d --no-build || up_rc=$?

# ---------------------------------------------------------------------------- 5. migrations
step migrations "${compose[*]} wait prestart (python -m app.prestart: alembic upgrade head)"
if ! $dry_run; then
    rc=0
    "${compose[@]}" wait prestart || rc=$?
    "${compose[@]}" logs --no-color prestart | tail -n 20
    [ "$rc" -eq 0 ] || die "prestart (migrations) exited with $rc: the backends were not started"
    [ "$up_rc" -eq 0 ] || die "docker compose up failed with $up_rc (see above)"
fi

# ---------------------------------------------------------------------------- 6. health
step health "curl $health_url until 200 (at most $health_timeout s)"
if ! $dry_run; then
    deadline=$((SECONDS + health_timeout))
    until curl -fsS --max-time 5 "$health_url" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            "${compose[@]}" ps
            die "$health_url did not answer 200 within $health_timeout s"
        fi
        sleep 3
    done
    "${compose[@]}" ps
    log "healthy: $health_url"
fi
if $dry_run; then
    log "dry run done: nothing was changed"
else
    log "done: $env_name is at ${TAG:-latest}"
fi
