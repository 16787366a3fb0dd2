#!/bin/sh
# docker-compose.yml, service temporal-schema (image temporalio/admin-tools): creates the
# temporal and temporal_visibility databases and brings both schemas to the newest version
# this server release embeds, and creates tempojob's log database. Every step is idempotent, so it runs on each `up`.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
sql() { temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${DB_PORT:-5432}" -u "${POSTGRES_USER}" --pw "${POSTGRES_PWD}" "$@"; }

for pair in temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility; do
  db="${pair%%:*}"
  echo "schema: ${db}"
  sql --db "${db}" create-database
  sql --db "${db}" setup-schema -v 0.0
  sql --db "${db}" update-schema --schema-name "${pair#*:}"
done
# tempojob's instance logs: the API applies its own migrations at start-up.
echo 'schema: tempojob_logs'
sql --db tempojob_logs create-database
echo 'schema: ready'
