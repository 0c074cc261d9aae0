#!/bin/sh
# Run once by Patroni on the member that creates the cluster (bootstrap.post_bootstrap),
# with a connection string to it: the app's database (POSTGRES_DB), which prestart migrates.
set -eu

printf 'CREATE DATABASE :"name";\n' | psql -X -v ON_ERROR_STOP=1 -v name="${POSTGRES_DB:-app}" -d "$1"
