#!/usr/bin/env bash
# The data drill: failover and point-in-time recovery on a real cluster of this machine.
#   bash scripts/deploy/drill.sh
# Starts three etcd and three PostgreSQL members under Patroni (scripts/dev/ha.sh), archiving
# into a pgBackRest repository of their own (scripts/deploy/pitr.sh), and the production
# backend on them; then (scripts/deploy/drill.py says how):
#   failover: N acknowledged, 0 lost, writes resumed after S s, 5xx other than 503: 0
#   pitr: restored to T, A rows expected, A found, B absent
#   rpo: a commit reached the repository after S s (archive_timeout 60 s)
#   latest: newest full backup + WAL restored, prestart passed, the live cluster's counts
# Exit 1 when a target is missed (a write lost, writes back after 30 s or more, a 5xx other
# than 503, reads that do not come back, a restore that holds other rows, a commit not
# archived within archive_timeout). Everything it starts listens on 16000-16999 and lives
# in a temporary folder; the main PostgreSQL and Redis are not touched. Needs root (apt-get
# installs patroni, etcd and pgbackrest when missing) and the project's .venv
# (scripts/setup.sh, run first). Takes two to three minutes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >/dev/null
exec .venv/bin/python scripts/deploy/drill.py
