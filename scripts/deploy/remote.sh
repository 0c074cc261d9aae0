#!/usr/bin/env bash
# The GitHub workflow's side of a deployment: reach the server over SSH.
#   scripts/deploy/remote.sh ship          copy the deployment files into $DEPLOY_PATH on the server
#   scripts/deploy/remote.sh run CMD...    run CMD in $DEPLOY_PATH on the server
# Environment (from the GitHub environment's secrets, never from files):
#   DEPLOY_HOST, DEPLOY_USER, DEPLOY_PATH   where (DEPLOY_PORT, default 22)
#   DEPLOY_SSH_KEY                          private key allowed to log in as DEPLOY_USER
#   DEPLOY_KNOWN_HOSTS                      the server's host key line(s) (ssh-keyscan output,
#                                           checked, so a spoofed host is refused)
# Shipped: compose.yml, compose.prod.yml, the scripts deploy.sh runs, pitr.sh, and what the
# db images are built from on the server (docker/db*, docker/patroni*); the server's own
# .env (its secrets) is never sent or overwritten.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

die() {
    printf '[remote] ERROR: %s\n' "$*" >&2
    exit 1
}
for name in DEPLOY_HOST DEPLOY_USER DEPLOY_PATH DEPLOY_SSH_KEY DEPLOY_KNOWN_HOSTS; do
    [ -n "${!name:-}" ] || die "$name is not set (a secret of the GitHub environment)"
done

SSH_DIR="$(mktemp -d)"
trap 'rm -rf "$SSH_DIR"' EXIT
chmod 700 "$SSH_DIR"
printf '%s\n' "$DEPLOY_SSH_KEY" >"$SSH_DIR/key"
printf '%s\n' "$DEPLOY_KNOWN_HOSTS" >"$SSH_DIR/known_hosts"
chmod 600 "$SSH_DIR/key" "$SSH_DIR/known_hosts"
ssh_cmd=(ssh -i "$SSH_DIR/key" -p "${DEPLOY_PORT:-22}" -o IdentitiesOnly=yes -o BatchMode=yes
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SSH_DIR/known_hosts"
    -o ServerAliveInterval=30 "$DEPLOY_USER@$DEPLOY_HOST")
remote_dir="$(printf '%q' "$DEPLOY_PATH")"

case "${1:-}" in
ship)
    files=(compose.yml compose.prod.yml scripts/deploy/deploy.sh scripts/deploy/backup.sh scripts/deploy/restore.sh scripts/deploy/db_args.sh scripts/deploy/smoke.py
        scripts/deploy/pitr.sh docker/db.Dockerfile docker/db docker/patroni.Dockerfile docker/patroni)
    echo "[remote] copying ${files[*]} to $DEPLOY_HOST:$DEPLOY_PATH"
    tar -cf - "${files[@]}" | "${ssh_cmd[@]}" "mkdir -p $remote_dir && tar -xf - -C $remote_dir"
    ;;
run)
    shift
    [ $# -gt 0 ] || die "run needs a command"
    printf -v command '%q ' "$@"
    echo "[remote] $DEPLOY_HOST:$DEPLOY_PATH\$ $*"
    "${ssh_cmd[@]}" "cd $remote_dir && $command"
    ;;
*) die "usage: scripts/deploy/remote.sh ship | run CMD..." ;;
esac
