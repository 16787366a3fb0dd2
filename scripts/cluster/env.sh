# Shared settings of the local production-like cluster (sourced by up.sh and down.sh).
# Every value can be overridden from the environment.
# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this

CLUSTER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The server version the embedded dev server runs (Temporal CLI v1.5.1 = server v1.29.1).
TEMPORAL_SERVER_VERSION="${TEMPOJOB_TEMPORAL_SERVER_VERSION:-v1.29.1}"
TEMPORAL_SERVER_MODULE="go.temporal.io/server"
# Project-local, git-ignored: the built server and SQL tool, and the cluster's state.
CLUSTER_TOOLS="${CLUSTER_ROOT}/.tools/temporal-server-${TEMPORAL_SERVER_VERSION}"
CLUSTER_DIR="${TEMPOJOB_CLUSTER_DIR:-${CLUSTER_ROOT}/.data/cluster}"
CLUSTER_RUN="${CLUSTER_DIR}/run"
CLUSTER_LOGS="${CLUSTER_DIR}/logs"

PG_MAJOR="${TEMPOJOB_CLUSTER_PG_MAJOR:-15}"
export TEMPOJOB_CLUSTER_PG_HOST="127.0.0.1"
export TEMPOJOB_CLUSTER_PG_PORT="${TEMPOJOB_CLUSTER_PG_PORT:-55432}"
export TEMPOJOB_CLUSTER_PG_USER="${TEMPOJOB_CLUSTER_PG_USER:-temporal}"
export TEMPOJOB_CLUSTER_PG_PASSWORD="${TEMPOJOB_CLUSTER_PG_PASSWORD:-temporal}"
# tempojob's instance log store: a database of its own in the same PostgreSQL, owned by the
# role above (up.sh creates it; the API applies its schema at start-up).
CLUSTER_LOG_DB="tempojob_logs"
export TEMPOJOB_CLUSTER_LOG_DATABASE_URL="postgres://${TEMPOJOB_CLUSTER_PG_USER}:${TEMPOJOB_CLUSTER_PG_PASSWORD}@${TEMPOJOB_CLUSTER_PG_HOST}:${TEMPOJOB_CLUSTER_PG_PORT}/${CLUSTER_LOG_DB}"

# Temporal service ports (frontend gRPC is what clients use). Kept away from the dev
# server's 7233/8233 so `npm start` and `npm test` can run next to the cluster.
export TEMPOJOB_CLUSTER_FRONTEND_PORT="${TEMPOJOB_CLUSTER_FRONTEND_PORT:-17233}"
export TEMPOJOB_CLUSTER_FRONTEND_HTTP_PORT="${TEMPOJOB_CLUSTER_FRONTEND_HTTP_PORT:-17243}"
export TEMPOJOB_CLUSTER_HISTORY_PORT="${TEMPOJOB_CLUSTER_HISTORY_PORT:-17234}"
export TEMPOJOB_CLUSTER_MATCHING_PORT="${TEMPOJOB_CLUSTER_MATCHING_PORT:-17235}"
export TEMPOJOB_CLUSTER_WORKER_PORT="${TEMPOJOB_CLUSTER_WORKER_PORT:-17239}"
# Prometheus metrics: one endpoint per service process, on BASE+1 … BASE+4.
CLUSTER_METRICS_BASE="${TEMPOJOB_CLUSTER_METRICS_BASE:-18000}"
export TEMPOJOB_CLUSTER_NUM_HISTORY_SHARDS="${TEMPOJOB_CLUSTER_NUM_HISTORY_SHARDS:-4}"
export TEMPOJOB_CLUSTER_DYNAMIC_CONFIG="${CLUSTER_ROOT}/scripts/cluster/temporal/dynamicconfig.yaml"
TEMPORAL_SERVICES=(history matching frontend worker)
TEMPORAL_NAMESPACE_NAME="${TEMPORAL_NAMESPACE:-default}"
# Namespace retention = how long closed runs are kept = the idempotency window.
TEMPORAL_NAMESPACE_RETENTION="${TEMPOJOB_CLUSTER_RETENTION:-72h}"

CLUSTER_TEMPORAL_ADDRESS="127.0.0.1:${TEMPOJOB_CLUSTER_FRONTEND_PORT}"

# mTLS on the frontend, as production runs it: up.sh makes a CA, the frontend's certificate and
# one client certificate in ${CLUSTER_DIR}/tls; Temporal's own worker service and every client
# (the CLI, tempojob's processes, the tests) present the client certificate.
# TEMPOJOB_CLUSTER_TLS=0 runs the cluster plain.
CLUSTER_TLS_DIR="${CLUSTER_DIR}/tls"
CLUSTER_TLS_SERVER_NAME="temporal.cluster.local"
if [[ "${TEMPOJOB_CLUSTER_TLS:-1}" == 1 ]]; then
  # Read by the server's config template (temporal/cluster.yaml).
  export TEMPOJOB_CLUSTER_TLS_DIR="${CLUSTER_TLS_DIR}" TEMPOJOB_CLUSTER_TLS_SERVER_NAME="${CLUSTER_TLS_SERVER_NAME}"
  # What tempojob's processes read (src/temporal/security.ts), as VAR=value words.
  CLUSTER_CLIENT_TLS_ENV=(
    TEMPORAL_TLS_CA_PATH="${CLUSTER_TLS_DIR}/ca.pem" TEMPORAL_TLS_CERT_PATH="${CLUSTER_TLS_DIR}/client.pem"
    TEMPORAL_TLS_KEY_PATH="${CLUSTER_TLS_DIR}/client.key" TEMPORAL_TLS_SERVER_NAME="${CLUSTER_TLS_SERVER_NAME}"
  )
  # The same for the Temporal CLI.
  CLUSTER_CLI_TLS=(
    --tls-ca-path "${CLUSTER_TLS_DIR}/ca.pem" --tls-cert-path "${CLUSTER_TLS_DIR}/client.pem"
    --tls-key-path "${CLUSTER_TLS_DIR}/client.key" --tls-server-name "${CLUSTER_TLS_SERVER_NAME}"
  )
else
  unset TEMPOJOB_CLUSTER_TLS_DIR
  CLUSTER_CLIENT_TLS_ENV=()
  CLUSTER_CLI_TLS=()
fi

# tempojob processes started by `up.sh --app`.
read -r -a CLUSTER_API_PORTS <<<"${TEMPOJOB_CLUSTER_API_PORTS:-17701 17702}"
CLUSTER_CORE_WORKERS="${TEMPOJOB_CLUSTER_CORE_WORKERS:-2}"
CLUSTER_PROCESSOR_WORKERS="${TEMPOJOB_CLUSTER_PROCESSOR_WORKERS:-3}"

log() { printf '%s [cluster] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '%s [cluster] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# Runs a command as the PostgreSQL owner: postgres refuses to run as root.
as_pg_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# PostgreSQL's own files: data, socket, log. PostgreSQL refuses to run as root, so as root
# they belong to the `postgres` user, which must be able to reach them; when it cannot
# (a project under /root, say), they live in /var/tmp instead, and a note says where.
pg_paths() {
  local home="${CLUSTER_DIR}/postgresql" note="${CLUSTER_DIR}/postgresql.location"
  if [[ -f "${note}" ]]; then
    home="$(cat "${note}")"
  elif [[ "$(id -u)" == 0 && -d "${CLUSTER_DIR}" ]] && id postgres >/dev/null 2>&1 \
      && ! runuser -u postgres -- test -x "${CLUSTER_DIR}"; then
    home="/var/tmp/tempojob-cluster-$(printf '%s' "${CLUSTER_DIR}" | md5sum | cut -c1-12)"
    echo "${home}" >"${note}"
  fi
  CLUSTER_PG_HOME="${home}"
  CLUSTER_PGDATA="${home}/data"
  CLUSTER_PGRUN="${home}/run"
  CLUSTER_PGLOG="${home}/postgresql.log"
}

pg_bin() {
  local dir="/usr/lib/postgresql/${PG_MAJOR}/bin"
  [[ -x "${dir}/postgres" ]] && { echo "${dir}"; return; }
  # Any other installed major version works as well (Temporal's postgres12 plugin needs >= 12).
  local found
  found="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  [[ -n "${found}" && -x "${found}/postgres" ]] && echo "${found}"
}

# pid file helpers: a process is "running" when its pid file names a live process.
pid_alive() { local f="${CLUSTER_RUN}/$1.pid"; [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what
  local deadline=$((SECONDS + $2))
  until port_open "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
