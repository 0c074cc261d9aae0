# syntax=docker/dockerfile:1
# A member of the `ha` profile of compose.yml: PostgreSQL 18 managed by Patroni (leader
# election in etcd, synchronous replication), archiving with pgBackRest, the backup schedule
# beside it (docker/db/backup-schedule.sh: only the leader backs up). Built where it runs
# (docker compose --profile ha build); settings and passwords come at run time.
FROM postgres:18-bookworm

# Patroni and pgBackRest from the PostgreSQL project's apt repository, which the image
# already uses for PostgreSQL itself; curl for the health check.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends patroni python3-etcd pgbackrest curl \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/patroni \
    && install -d -o postgres -g postgres -m 750 /var/lib/pgbackrest /var/spool/pgbackrest

COPY --chmod=644 docker/patroni/patroni.yml /etc/patroni/patroni.yml
COPY --chmod=755 docker/patroni/entrypoint.sh /usr/local/bin/patroni-entrypoint
COPY --chmod=755 docker/patroni/post-bootstrap.sh /usr/local/bin/patroni-post-bootstrap
COPY --chmod=755 docker/db/backup-schedule.sh /usr/local/bin/backup-schedule

# postgres (uid and gid 999 in the official image), which PostgreSQL and Patroni run as.
USER 999:999
EXPOSE 5432 8008
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8008/health"]
ENTRYPOINT ["patroni-entrypoint"]
