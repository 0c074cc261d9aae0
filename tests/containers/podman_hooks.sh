# shellcheck shell=bash
# DEPLOY_HOOKS for scripts/deploy/deploy.sh in tests/containers: the stack's containers run with
# Podman (each in its own network namespace, port 8000/8080 published on a free loopback
# port, the host's PostgreSQL and Redis reached through slirp4netns' 10.0.2.2), and a local
# nginx stands in for Traefik, so routing changes are an upstream file and a reload.
# Set by tests/containers/conftest.py: CT_LABEL (marks this test's containers), CT_ENV_FILE
# (the app's settings), CT_WORK (the nginx prefix, with backend.upstream and
# frontend.upstream), CT_NGINX, CT_NGINX_CONF.

CT_RUN=(run --detach --runtime runc --ulimit nofile=20000:20000 --ulimit nproc=4096:4096
    --network slirp4netns:allow_host_loopback=true --label "ct=$CT_LABEL")

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

replicas_of() {
    podman ps --filter "label=ct=$CT_LABEL" --filter "label=ct.service=$1" --format '{{.Names}}' | sort
}
backend_replicas() { replicas_of backend; }
frontend_replicas() { replicas_of frontend; }

# start_container SERVICE IMAGE PORT_IN_CONTAINER: prints the name, ct-SERVICE-HOSTPORT.
start_container() {
    local service=$1 image=$2 inner=$3 port name
    port="$(free_port)"
    name="$CT_LABEL-$service-$port"
    podman "${CT_RUN[@]}" --name "$name" --label "ct.service=$service" \
        --publish "127.0.0.1:$port:$inner" --env-file "$CT_ENV_FILE" "$image" >/dev/null
    printf '%s\n' "$name"
}
start_backend() { start_container backend "$BACKEND_IMAGE:$1" 8000; }
start_frontend() { start_container frontend "$FRONTEND_IMAGE:$1" 8080; }

run_migrations() {
    podman run --rm --runtime runc --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
        --network slirp4netns:allow_host_loopback=true --env-file "$CT_ENV_FILE" \
        "$BACKEND_IMAGE:$1" python -m app.prestart
}

pull_images() { podman image exists "$BACKEND_IMAGE:$1" && podman image exists "$FRONTEND_IMAGE:$1"; }

first_deploy() { return 1; }

backup_database() { :; }

# proxy_routes SERVICE NAME...: only these containers in SERVICE's upstream, then a reload.
proxy_routes() {
    local service=$1 name file
    shift
    file="$CT_WORK/$service.upstream"
    : >"$file.new"
    for name in "$@"; do
        [ -n "$name" ] || continue
        printf 'server 127.0.0.1:%s max_fails=1 fail_timeout=5s;\n' "${name##*-}" >>"$file.new"
    done
    mv "$file.new" "$file"
    "$CT_NGINX" -p "$CT_WORK" -c "$CT_NGINX_CONF" -s reload
    # The reload is asynchronous: give the new worker a moment to take over.
    sleep 1
}
