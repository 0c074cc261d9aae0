#!/usr/bin/env bash
# shellcheck disable=SC2317  # the operations are called indirectly ("${service}_replicas")
# Deploy a new image tag on this server without dropping requests, and roll back by itself
# when the new version is bad.
#   scripts/deploy/deploy.sh --env staging|production [--tag TAG] [--skip-backup] [--dry-run]
#
# Run from the deployment folder: compose.yml, compose.prod.yml, scripts/ and the server's
# .env (secrets, DOMAIN, ACME_EMAIL, ENVIRONMENT). The GitHub workflow copies the files and
# runs this over SSH; by hand it is the same command.
#   1. backup      production only: scripts/deploy/backup.sh --compose into $BACKUP_DIR (default
#                  ./backups); skipped on a first deploy or with --skip-backup
#   2. pull        the images of TAG ($DOCKER_IMAGE_BACKEND, $DOCKER_IMAGE_FRONTEND)
#   3. migrations  prestart of TAG (alembic upgrade head) while the old version serves: a
#                  migration must work with the running code (docs/deployment.md, "Migrations")
#   4. backends    one replica at a time: start a new one, wait until its health check
#                  passes, then drain an old one (its /api/ping and /api/_health answer 503,
#                  the proxy stops routing to it, $DEPLOY_DRAIN_SECONDS for in-flight requests),
#                  stop it (SIGTERM, $DEPLOY_STOP_GRACE s) and remove it
#   5. frontend    the same for the frontend replica(s)
#   6. smoke       python3 scripts/deploy/smoke.py $DEPLOY_URL (default https://$DOMAIN)
# If a new replica is not healthy within $DEPLOY_HEALTH_TIMEOUT s (default 180), or the smoke
# test fails, the same rolling replacement puts the previous tag back and the script exits 1.
# A first deploy (no backend running) is `compose up -d` and the same checks, no rollback.
# --dry-run prints the steps and changes nothing.
#
# Containers and proxy: by default docker compose (COMPOSE, default "docker compose";
# COMPOSE_FILE, default compose.yml:compose.prod.yml) with Traefik, which routes only to
# replicas whose health check passes, so a draining replica leaves the router by itself.
# DEPLOY_HOOKS=file.sh replaces the compose operations (for other engines or proxies, e.g.
# Podman and an nginx that must be reloaded): it is sourced and may redefine the functions
# of the "operations" section below; tests/containers/podman_hooks.sh is one.
# CONTAINER_ENGINE (docker|podman, default docker) runs health checks, exec, stop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

log() { printf '[deploy] %s\n' "$*"; }
die() {
    printf '[deploy] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '3,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
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

export TAG="${TAG:-latest}"
export COMPOSE_FILE="${COMPOSE_FILE:-compose.yml:compose.prod.yml}"
read -r -a compose <<<"${COMPOSE:-docker compose}"
ENGINE="${CONTAINER_ENGINE:-docker}"
BACKEND_IMAGE="${DOCKER_IMAGE_BACKEND:-full-stack-reflex-backend}"
FRONTEND_IMAGE="${DOCKER_IMAGE_FRONTEND:-full-stack-reflex-frontend}"
DRAIN_FILE="${DRAIN_FILE:-/tmp/full-stack-reflex.draining}"
backup_dir="${BACKUP_DIR:-backups}"
health_timeout="${DEPLOY_HEALTH_TIMEOUT:-180}"
# Traefik checks /api/ping every 2 s (compose.yml): 10 s is several missed checks.
drain_seconds="${DEPLOY_DRAIN_SECONDS:-10}"
stop_grace="${DEPLOY_STOP_GRACE:-30}"

# The last KEY=value of .env (quotes removed), for the few values this script needs itself.
env_file_value() {
    [ -f .env ] || return 0
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" .env | tail -n1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}
domain="${DOMAIN:-$(env_file_value DOMAIN)}"
deploy_url="${DEPLOY_URL:-https://${domain:-\$DOMAIN}}"

# ---------------------------------------------------------------------------- operations
# The defaults drive docker compose and let Traefik follow the health checks. DEPLOY_HOOKS
# may redefine any of them.

# Backend (or frontend) containers now running, one name or id per line.
backend_replicas() { "${compose[@]}" ps --quiet backend; }
frontend_replicas() { "${compose[@]}" ps --quiet frontend; }

# start_replica SERVICE TAG: start one more container of SERVICE from TAG; print its id.
# --no-recreate keeps the running ones as they are, --scale adds one with TAG's image.
start_replica() {
    local service=$1 tag=$2 before count
    before="$("${compose[@]}" ps --quiet "$service" | sort)"
    count="$(printf '%s\n' "$before" | grep -c . || true)"
    TAG="$tag" "${compose[@]}" up -d --no-deps --no-build --no-recreate \
        --scale "$service=$((count + 1))" "$service" >&2
    comm -13 <(printf '%s\n' "$before") <("${compose[@]}" ps --quiet "$service" | sort) | head -n1
}
start_backend() { start_replica backend "$1"; }
start_frontend() { start_replica frontend "$1"; }

# run_migrations TAG: prestart of TAG, to the end; its exit code.
run_migrations() { TAG="$1" "${compose[@]}" run --rm --no-deps prestart; }

# pull_images TAG: the app's images of TAG, and the db image (postgres with pgBackRest,
# docker/db.Dockerfile) built here, from cache when nothing changed; its own tag
# (DB_IMAGE_TAG) never follows TAG, so a deploy does not recreate the database.
pull_images() {
    TAG="$1" "${compose[@]}" pull --quiet backend frontend prestart &&
        "${compose[@]}" build --quiet db
}

# first_deploy TAG: nothing runs yet: the whole stack at once.
first_deploy() { TAG="$1" "${compose[@]}" up -d --no-build --wait; }

# proxy_routes NAME...: these containers (and only these) should receive traffic now.
# Traefik reads the health checks itself, so there is nothing to do.
proxy_routes() { :; }

# backup_database: production, before anything changes.
backup_database() {
    if [ -n "$("${compose[@]}" ps --status running --quiet db 2>/dev/null)" ]; then
        bash scripts/deploy/backup.sh --compose --dir "$backup_dir"
    else
        log "backup: the db service is not running: nothing to back up"
    fi
}

# image_of NAME: the image (repository:tag) a container runs.
image_of() { "$ENGINE" inspect --format '{{.Config.Image}}' "$1"; }

# healthy NAME: its HEALTHCHECK passes now. Podman without systemd runs no health timers,
# so the check is run on demand there; Docker's own status is read otherwise.
healthy() {
    if [ "$(basename "$ENGINE")" = podman ]; then
        "$ENGINE" healthcheck run "$1" >/dev/null 2>&1
    else
        [ "$("$ENGINE" inspect --format '{{.State.Health.Status}}' "$1" 2>/dev/null)" = healthy ]
    fi
}

running() { [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# drain NAME: its health endpoints answer 503 from now on (app/core/drain.py).
drain() { "$ENGINE" exec "$1" touch "$DRAIN_FILE"; }

# retire NAME: SIGTERM (granian finishes in-flight requests), then remove the container.
retire() {
    "$ENGINE" stop --time "$stop_grace" "$1" >/dev/null
    "$ENGINE" rm --force "$1" >/dev/null
}

# Without SMOKE_USER_EMAIL/SMOKE_USER_PASSWORD on the server the API login is left out here
# (the pipeline's smoke job logs in with its own secrets); health, UI and websocket remain.
smoke_test() {
    local login=()
    [ -n "${SMOKE_USER_EMAIL:-}" ] && [ -n "${SMOKE_USER_PASSWORD:-}" ] || login=(--skip-login)
    python3 scripts/deploy/smoke.py "$deploy_url" --retries 3 --delay 3 ${login[@]+"${login[@]}"}
}

if [ -n "${DEPLOY_HOOKS:-}" ]; then
    # shellcheck source=/dev/null
    source "$DEPLOY_HOOKS"
fi

# ---------------------------------------------------------------------------- rolling
# wait_healthy NAME: until its health check passes; fails when it exits or times out.
wait_healthy() {
    local name=$1 deadline=$((SECONDS + health_timeout))
    until healthy "$name"; do
        if ! running "$name"; then
            log "$name exited; its last log lines:"
            "$ENGINE" logs --tail 5 "$name" 2>&1 | sed 's/^/    /' >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "$name is not healthy after $health_timeout s; its last log lines:"
            "$ENGINE" logs --tail 5 "$name" 2>&1 | sed 's/^/    /' >&2 || true
            return 1
        fi
        sleep 1
    done
}

# roll SERVICE TAG ONLY_OTHERS: replace every running replica of SERVICE by one of TAG, one
# at a time. With ONLY_OTHERS=true (a rollback), replicas already on TAG stay.
roll() {
    local service=$1 tag=$2 only_others=$3 image old new started
    local -a olds routes
    image="$BACKEND_IMAGE"
    [ "$service" = frontend ] && image="$FRONTEND_IMAGE"
    mapfile -t olds < <("${service}_replicas")
    routes=("${olds[@]}")
    for old in "${olds[@]}"; do
        if $only_others && [ "$(image_of "$old")" = "$image:$tag" ]; then
            continue
        fi
        started=$SECONDS
        new="$("start_$service" "$tag")"
        [ -n "$new" ] || { log "$service: no new container was started"; return 1; }
        if ! wait_healthy "$new"; then
            "$ENGINE" rm --force "$new" >/dev/null 2>&1 || true
            return 1
        fi
        routes+=("$new")
        proxy_routes "$service" "${routes[@]}"
        log "$service: $new ($image:$tag) healthy after $((SECONDS - started)) s; draining $old"
        drain "$old" 2>/dev/null || true
        routes=("${routes[@]/$old/}")
        proxy_routes "$service" "${routes[@]}"
        sleep "$drain_seconds"
        retire "$old"
        log "$service: $old stopped"
    done
}

# release TAG ONLY_OTHERS: backends, then the frontend, then the smoke test.
release() {
    roll backend "$1" "$2" && roll frontend "$1" "$2" && smoke_test
}

steps=(backup pull migrations backends frontend smoke)
step_number=0
# step NAME DESCRIPTION: announce the next step (the only output of a dry run).
step() {
    step_number=$((step_number + 1))
    log "step $step_number/${#steps[@]} $1: $2"
}

# ---------------------------------------------------------------------------- checks
if ! $dry_run && [ -z "${DEPLOY_HOOKS:-}" ]; then
    [ -f .env ] || die "no .env in $ROOT: copy .env.example and set the secrets (docs/deployment.md)"
    configured="${ENVIRONMENT:-$(env_file_value ENVIRONMENT)}"
    [ "$configured" = "$env_name" ] ||
        die ".env says ENVIRONMENT=${configured:-<unset>} but this is a $env_name deploy"
    [ -n "$domain" ] || die "DOMAIN is not set (in .env or the environment)"
    "${compose[@]}" config --quiet || die "the compose files do not resolve (see above)"
fi
log "deploying $TAG to $env_name (${DEPLOY_HOOKS:-${compose[*]}, COMPOSE_FILE=$COMPOSE_FILE})"
$dry_run && log "dry run: the commands are printed, not run"

previous=""
if ! $dry_run; then
    current="$(backend_replicas | head -n1)"
    [ -z "$current" ] || previous="$(image_of "$current")"
    previous="${previous##*:}"
fi

# ---------------------------------------------------------------------------- 1. backup
if [ "$env_name" != production ]; then
    step backup "skipped ($env_name: only production is backed up before a deploy)"
elif $skip_backup; then
    step backup "skipped (--skip-backup: the pipeline's backup job has just made one)"
else
    step backup "bash scripts/deploy/backup.sh --compose --dir $backup_dir"
    $dry_run || backup_database
fi

# ---------------------------------------------------------------------------- 2. pull
step pull "${compose[*]} pull --quiet (tag $TAG)"
$dry_run || pull_images "$TAG"

# ---------------------------------------------------------------------------- 3. migrations
step migrations "${compose[*]} run --rm prestart (alembic upgrade head, tag $TAG)"
if ! $dry_run && [ -n "$previous" ]; then
    run_migrations "$TAG" || die "the migrations (prestart of $TAG) failed: nothing was changed"
fi

# ---------------------------------------------------------------------------- 4-6. release
if $dry_run; then
    step backends "one at a time: start $TAG, wait healthy, drain an old one ${drain_seconds} s, stop it"
    step frontend "the same for the frontend"
    step smoke "python3 scripts/deploy/smoke.py $deploy_url; on failure roll back to the previous tag"
    log "dry run done: nothing was changed"
    exit 0
fi

if [ -z "$previous" ]; then
    step backends "first deploy: ${compose[*]} up -d (prestart migrates, then the backends)"
    first_deploy "$TAG" || die "the first deploy of $TAG did not become healthy"
    step frontend "started with the stack"
    step smoke "python3 scripts/deploy/smoke.py $deploy_url"
    smoke_test || die "smoke test failed after the first deploy of $TAG"
    log "done: $env_name is at $TAG"
    exit 0
fi

step backends "replacing the replicas of $previous with $TAG, one at a time"
failure="a new backend replica did not become healthy"
if roll backend "$TAG" false; then
    step frontend "replacing the frontend with $TAG"
    failure="a new frontend replica did not become healthy"
    if roll frontend "$TAG" false; then
        step smoke "python3 scripts/deploy/smoke.py $deploy_url"
        if smoke_test; then
            log "done: $env_name is at $TAG (was $previous)"
            exit 0
        fi
        failure="the smoke test failed"
    fi
fi
log "ROLLBACK: $TAG failed ($failure); putting $previous back"
if release "$previous" true; then
    die "rolled back to $previous: $TAG was not deployed"
fi
die "the rollback to $previous failed too: check the replicas and the proxy"
