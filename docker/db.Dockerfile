# syntax=docker/dockerfile:1
# The db and backup services of compose.yml: PostgreSQL 18 with pgBackRest, which archives
# every WAL file (archive_command) and takes the scheduled full and differential backups
# (docker/db/backup-schedule.sh). Built on the server that runs it (scripts/deploy/deploy.sh
# runs `docker compose build db`); no secret goes into it, the settings come at run time.
FROM postgres:18-bookworm

# pgBackRest from the PostgreSQL project's apt repository, which the image already uses for
# PostgreSQL itself: the version that repository pairs with the server, so not pinned here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends pgbackrest \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 750 /var/lib/pgbackrest /var/spool/pgbackrest

COPY --chmod=755 docker/db/backup-schedule.sh /usr/local/bin/backup-schedule
