#!/usr/bin/env bash
# Brings up a production-like Temporal on this machine, without Docker:
#   PostgreSQL (Debian's package) · Temporal server v1.29.1 built from the Go module proxy,
#   one process per service (frontend, history, matching, worker) · schema set up with
#   temporal-sql-tool · namespace and tempojob's search attributes registered.
# With --app it also starts tempojob against it: 2 API replicas, 2 core workers and
# 3 processor workers (the demo processors of app "demo").
#
# Idempotent: every step is skipped when already done, so running it again is cheap.
# Installs and state stay in git-ignored folders: .tools/temporal-server-<version>/ and
# .data/cluster/ (PostgreSQL data, logs, pid files). Stop with scripts/cluster/down.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

WITH_APP=0
for arg in "$@"; do
  case "$arg" in
    --app) WITH_APP=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) die "unknown argument $arg (try --help)" ;;
  esac
done

started_at=$SECONDS
cd "${CLUSTER_ROOT}"
mkdir -p "${CLUSTER_RUN}" "${CLUSTER_LOGS}"

# --- 1. PostgreSQL binaries ---------------------------------------------------------------
step_postgres_install() {
  if [[ -n "$(pg_bin)" ]]; then
    log "1/7 PostgreSQL: $("$(pg_bin)/postgres" --version)"
    return
  fi
  log "1/7 PostgreSQL: installing postgresql-${PG_MAJOR} from Debian's packages (apt-get)…"
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  # Progress: one line per package fetched and set up; the full output goes to apt.log.
  if ! { "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "postgresql-${PG_MAJOR}"; } 2>&1 \
    | tee "${CLUSTER_LOGS}/apt.log" | { grep --line-buffered -E '^(Get:[0-9]+ |Setting up )' | sed 's/^/    /' || true; }; then
    tail -20 "${CLUSTER_LOGS}/apt.log" >&2
    die "apt-get could not install postgresql-${PG_MAJOR}; see ${CLUSTER_LOGS}/apt.log"
  fi
  [[ -n "$(pg_bin)" ]] || die "postgresql-${PG_MAJOR} did not install"
  log "    installed $("$(pg_bin)/postgres" --version)"
}

# --- 2. Temporal server and SQL tool from the Go module proxy ----------------------------
step_temporal_build() {
  if [[ -x "${CLUSTER_TOOLS}/server" && -x "${CLUSTER_TOOLS}/sql" ]]; then
    log "2/7 Temporal server ${TEMPORAL_SERVER_VERSION}: built (${CLUSTER_TOOLS#"${CLUSTER_ROOT}/"})"
    return
  fi
  command -v go >/dev/null || die "Go >= 1.25 is needed to build the Temporal server (go.temporal.io/server ${TEMPORAL_SERVER_VERSION} needs go 1.25.0)"
  log "2/7 Temporal server ${TEMPORAL_SERVER_VERSION}: building cmd/server and cmd/tools/sql with $(go env GOVERSION) (first run only, several minutes)…"
  mkdir -p "${CLUSTER_TOOLS}"
  local t0=$SECONDS tmp
  tmp="$(mktemp -d)"
  # -v names each package as it is compiled: print a progress line every 100. Same build
  # settings as the Temporal CLI's build (src/temporal/cli.ts), so the many packages the two
  # share come from Go's build cache.
  if ! GOBIN="${tmp}" GOFLAGS=-buildvcs=false go install -v \
      "${TEMPORAL_SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}" \
      "${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}" 2>&1 \
    | tee "${CLUSTER_LOGS}/go-build.log" \
    | awk -v t0="$(date +%s)" '
        /^go: downloading/ { downloads++; if (downloads % 50 == 0) printf "    … %d modules downloaded (%ds)\n", downloads, systime() - t0; fflush(); next }
        { packages++; if (packages % 100 == 0) printf "    … %d packages compiled (%ds)\n", packages, systime() - t0; fflush() }'; then
    rm -rf "${tmp}"
    die "go install failed; see ${CLUSTER_LOGS}/go-build.log"
  fi
  [[ -x "${tmp}/server" && -x "${tmp}/sql" ]] || { tail -20 "${CLUSTER_LOGS}/go-build.log" >&2; rm -rf "${tmp}"; die "go install failed; see ${CLUSTER_LOGS}/go-build.log"; }
  mv "${tmp}/server" "${tmp}/sql" "${CLUSTER_TOOLS}/"
  rm -rf "${tmp}"
  log "    built in $((SECONDS - t0)) s: ${CLUSTER_TOOLS#"${CLUSTER_ROOT}/"}/{server,sql}"
}

# --- 3. Temporal CLI (namespace administration) -------------------------------------------
TEMPORAL_CLI=""
step_cli() {
  [[ -x "${CLUSTER_ROOT}/node_modules/.bin/tsx" ]] || die "node_modules missing: run npm ci first"
  TEMPORAL_CLI="$(cd "${CLUSTER_ROOT}" && node_modules/.bin/tsx scripts/temporal-cli.ts)"
  log "3/7 Temporal CLI: ${TEMPORAL_CLI#"${CLUSTER_ROOT}/"}"
}

# --- TLS: a CA, the frontend's certificate and a client certificate (once) --------------------
step_tls() {
  ((${#CLUSTER_CLI_TLS[@]})) || return 0
  if [[ -f "${CLUSTER_TLS_DIR}/client.key" ]]; then return; fi
  command -v openssl >/dev/null || die "openssl is needed to make the cluster's TLS certificates (apt-get install openssl), or set TEMPOJOB_CLUSTER_TLS=0"
  mkdir -p "${CLUSTER_TLS_DIR}"
  (
    cd "${CLUSTER_TLS_DIR}"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 825 -subj "/CN=tempojob cluster CA" 2>/dev/null
    issue() { # name extensions
      printf '%b' "$2" >"$1.ext"
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 825 -extfile "$1.ext" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    issue frontend "subjectAltName=DNS:${CLUSTER_TLS_SERVER_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    issue client "extendedKeyUsage=clientAuth\n"
    # Read by the server, which runs as this user, and by the tests' processes.
    chmod 644 ./*.pem ./*.key
  )
  log "    TLS: a CA, the frontend's and a client certificate in ${CLUSTER_TLS_DIR#"${CLUSTER_ROOT}/"}"
}

# --- 4. PostgreSQL cluster ----------------------------------------------------------------
psql_admin() { as_pg_owner "$(pg_bin)/psql" -h "${CLUSTER_PGRUN}" -p "${TEMPOJOB_CLUSTER_PG_PORT}" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

step_postgres_start() {
  local bin owner
  bin="$(pg_bin)"
  pg_paths
  [[ "$(id -u)" == 0 ]] && owner=postgres || owner="$(id -un)"
  mkdir -p "${CLUSTER_PGDATA}" "${CLUSTER_PGRUN}"
  chown "${owner}" "${CLUSTER_PG_HOME}" "${CLUSTER_PGDATA}" "${CLUSTER_PGRUN}"
  if [[ ! -s "${CLUSTER_PGDATA}/PG_VERSION" ]]; then
    log "4/7 PostgreSQL: initdb ${CLUSTER_PGDATA#"${CLUSTER_ROOT}/"}"
    chmod 700 "${CLUSTER_PGDATA}"
    as_pg_owner "${bin}/initdb" -D "${CLUSTER_PGDATA}" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"${CLUSTER_LOGS}/initdb.log" 2>&1 || { cat "${CLUSTER_LOGS}/initdb.log" >&2; die "initdb failed"; }
  fi
  if as_pg_owner "${bin}/pg_ctl" -D "${CLUSTER_PGDATA}" status >/dev/null 2>&1; then
    log "4/7 PostgreSQL: running on ${TEMPOJOB_CLUSTER_PG_HOST}:${TEMPOJOB_CLUSTER_PG_PORT}"
  else
    log "4/7 PostgreSQL: starting on ${TEMPOJOB_CLUSTER_PG_HOST}:${TEMPOJOB_CLUSTER_PG_PORT} (log ${CLUSTER_PGLOG#"${CLUSTER_ROOT}/"})"
    as_pg_owner "${bin}/pg_ctl" -D "${CLUSTER_PGDATA}" -l "${CLUSTER_PGLOG}" -w -t 60 \
      -o "-c listen_addresses=${TEMPOJOB_CLUSTER_PG_HOST} -p ${TEMPOJOB_CLUSTER_PG_PORT} -c unix_socket_directories=${CLUSTER_PGRUN} -c max_connections=200" \
      start >/dev/null || { as_pg_owner tail -20 "${CLUSTER_PGLOG}" >&2; die "PostgreSQL did not start"; }
  fi
  # The role Temporal connects as: owns its databases, no superuser.
  if [[ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '${TEMPOJOB_CLUSTER_PG_USER}'")" != 1 ]]; then
    psql_admin -c "CREATE ROLE \"${TEMPOJOB_CLUSTER_PG_USER}\" LOGIN CREATEDB PASSWORD '${TEMPOJOB_CLUSTER_PG_PASSWORD}'"
    log "    created role ${TEMPOJOB_CLUSTER_PG_USER}"
  fi
  if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '${CLUSTER_LOG_DB}'")" != 1 ]]; then
    psql_admin -c "CREATE DATABASE \"${CLUSTER_LOG_DB}\" OWNER \"${TEMPOJOB_CLUSTER_PG_USER}\""
    log "    created database ${CLUSTER_LOG_DB} (instance logs)"
  fi
}

# --- 5. Schema ------------------------------------------------------------------------------
sql_tool() {
  "${CLUSTER_TOOLS}/sql" --plugin postgres12 --ep "${TEMPOJOB_CLUSTER_PG_HOST}" -p "${TEMPOJOB_CLUSTER_PG_PORT}" \
    -u "${TEMPOJOB_CLUSTER_PG_USER}" --pw "${TEMPOJOB_CLUSTER_PG_PASSWORD}" "$@"
}

step_schema() {
  local db schema
  for pair in "temporal:postgresql/v12/temporal" "temporal_visibility:postgresql/v12/visibility"; do
    db="${pair%%:*}"
    schema="${pair#*:}"
    if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '${db}'")" != 1 ]]; then
      sql_tool --db "${db}" create-database >>"${CLUSTER_LOGS}/schema.log" 2>&1 || { tail -20 "${CLUSTER_LOGS}/schema.log" >&2; die "create-database ${db} failed"; }
    fi
    if [[ "$(psql_admin -d "${db}" -c "SELECT to_regclass('public.schema_version') IS NOT NULL")" != t ]]; then
      sql_tool --db "${db}" setup-schema -v 0.0 >>"${CLUSTER_LOGS}/schema.log" 2>&1 || { tail -20 "${CLUSTER_LOGS}/schema.log" >&2; die "setup-schema ${db} failed"; }
    fi
    # Embedded versioned schemas: brings the database to the newest version of this server.
    sql_tool --db "${db}" update-schema --schema-name "${schema}" >>"${CLUSTER_LOGS}/schema.log" 2>&1 || { tail -20 "${CLUSTER_LOGS}/schema.log" >&2; die "update-schema ${db} failed"; }
    log "5/7 schema: ${db} at version $(psql_admin -d "${db}" -c "SELECT curr_version FROM schema_version LIMIT 1")"
  done
}

# --- 6. Temporal services -------------------------------------------------------------------
# A service's membership port (gRPC port - 300, see temporal/cluster.yaml): every service,
# the worker included (it serves no gRPC), opens it once it has started.
membership_port() {
  case "$1" in
    frontend) echo $((TEMPOJOB_CLUSTER_FRONTEND_PORT - 300)) ;;
    history) echo $((TEMPOJOB_CLUSTER_HISTORY_PORT - 300)) ;;
    matching) echo $((TEMPOJOB_CLUSTER_MATCHING_PORT - 300)) ;;
    worker) echo $((TEMPOJOB_CLUSTER_WORKER_PORT - 300)) ;;
  esac
}

step_temporal_start() {
  local i=0 service port started=()
  for service in "${TEMPORAL_SERVICES[@]}"; do
    i=$((i + 1))
    if pid_alive "temporal-${service}"; then continue; fi
    # Each service is its own process, as in a production deployment; they find each
    # other through the cluster_membership table. One at a time: on an empty database the
    # first one writes the cluster metadata, and services racing to write it fail.
    TEMPOJOB_CLUSTER_METRICS_PORT=$((CLUSTER_METRICS_BASE + i)) setsid "${CLUSTER_TOOLS}/server" --root "${CLUSTER_ROOT}" \
      --config scripts/cluster/temporal --env cluster --allow-no-auth start --service "${service}" \
      >>"${CLUSTER_LOGS}/temporal-${service}.log" 2>&1 </dev/null &
    echo $! >"${CLUSTER_RUN}/temporal-${service}.pid"
    port="$(membership_port "${service}")"
    local deadline=$((SECONDS + 60))
    until port_open "${port}"; do
      pid_alive "temporal-${service}" || { tail -5 "${CLUSTER_LOGS}/temporal-${service}.log" >&2; die "Temporal ${service} exited; see ${CLUSTER_LOGS}/temporal-${service}.log"; }
      ((SECONDS < deadline)) || die "Temporal ${service} did not open port ${port} within 60 s; see ${CLUSTER_LOGS}/temporal-${service}.log"
      sleep 0.2
    done
    started+=("${service}")
  done
  if ((${#started[@]})); then
    log "6/7 Temporal: started ${started[*]} (logs in ${CLUSTER_LOGS#"${CLUSTER_ROOT}/"}/temporal-*.log)"
  else
    log "6/7 Temporal: running"
  fi
  local deadline=$((SECONDS + 120))
  until "${TEMPORAL_CLI}" operator cluster health --address "${CLUSTER_TEMPORAL_ADDRESS}" "${CLUSTER_CLI_TLS[@]}" >/dev/null 2>&1; do
    for service in "${TEMPORAL_SERVICES[@]}"; do
      pid_alive "temporal-${service}" || { tail -5 "${CLUSTER_LOGS}/temporal-${service}.log" >&2; die "Temporal ${service} exited; see ${CLUSTER_LOGS}/temporal-${service}.log"; }
    done
    ((SECONDS < deadline)) || die "Temporal frontend not healthy within 120 s; see ${CLUSTER_LOGS}/temporal-*.log"
    sleep 0.5
  done
  log "    frontend healthy at ${CLUSTER_TEMPORAL_ADDRESS}$( ((${#CLUSTER_CLI_TLS[@]})) && echo ' (mTLS)')"
}

# --- 7. Namespace and search attributes -----------------------------------------------------
step_namespace() {
  local cli=("${TEMPORAL_CLI}" --address "${CLUSTER_TEMPORAL_ADDRESS}" "${CLUSTER_CLI_TLS[@]}")
  local created
  if ! "${cli[@]}" operator namespace describe -n "${TEMPORAL_NAMESPACE_NAME}" >/dev/null 2>&1; then
    # describe also fails while the frontend cannot read its database yet (PostgreSQL just
    # restarted): then create finds the namespace there.
    if created="$("${cli[@]}" operator namespace create -n "${TEMPORAL_NAMESPACE_NAME}" --retention "${TEMPORAL_NAMESPACE_RETENTION}" 2>&1)"; then
      log "7/7 namespace ${TEMPORAL_NAMESPACE_NAME}: created (retention ${TEMPORAL_NAMESPACE_RETENTION})"
    elif [[ "${created}" == *"already exists"* ]]; then
      log "7/7 namespace ${TEMPORAL_NAMESPACE_NAME}: exists"
    else
      printf '%s\n' "${created}" >&2
      die "could not create namespace ${TEMPORAL_NAMESPACE_NAME}"
    fi
  else
    log "7/7 namespace ${TEMPORAL_NAMESPACE_NAME}: exists"
  fi
  # The same registration the API and core worker do at start-up (ensureSearchAttributes),
  # done once here so replicas starting side by side never race for it.
  (cd "${CLUSTER_ROOT}" && env TEMPORAL_ADDRESS="${CLUSTER_TEMPORAL_ADDRESS}" TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE_NAME}" "${CLUSTER_CLIENT_TLS_ENV[@]}" \
    node_modules/.bin/tsx scripts/cluster/register-search-attributes.ts) | sed 's/^/    /'
}

# --- tempojob (--app) ------------------------------------------------------------------------
start_app_process() { # name readyPattern "script [args]" [VAR=value...]
  local name="$1" ready="$2" command="$3"
  shift 3
  if pid_alive "${name}"; then return; fi
  : >"${CLUSTER_LOGS}/${name}.log"
  # setsid: the process (tsx and the node it runs) gets its own process group, which
  # down.sh signals as a whole. No subshell: it would hold our stdout open.
  # shellcheck disable=SC2086 # the command's words are split on purpose
  env "$@" setsid node_modules/.bin/tsx ${command} >>"${CLUSTER_LOGS}/${name}.log" 2>&1 </dev/null &
  echo $! >"${CLUSTER_RUN}/${name}.pid"
  echo "${name}|${ready}" >>"${CLUSTER_RUN}/.starting"
}

step_app() {
  local secrets="${CLUSTER_DIR}/app.env"
  if [[ ! -f "${secrets}" ]]; then
    umask 077
    {
      echo "TEMPOJOB_JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
      echo "TEMPOJOB_ADMIN_TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
      echo "TEMPOJOB_DEMO_PASSWORD=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
    } >"${secrets}"
    umask 022
  fi
  # shellcheck disable=SC1090
  source "${secrets}"
  local common=(TEMPORAL_ADDRESS="${CLUSTER_TEMPORAL_ADDRESS}" TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE_NAME}" "${CLUSTER_CLIENT_TLS_ENV[@]}")
  local bundle="${CLUSTER_DIR}/workflows.bundle.js"
  log "app: bundling the core workflows once for every core worker"
  (cd "${CLUSTER_ROOT}" && node_modules/.bin/tsx scripts/cluster/bundle-workflows.ts "${bundle}") | sed 's/^/    /'
  rm -f "${CLUSTER_RUN}/.starting"
  local n=0 port
  for port in "${CLUSTER_API_PORTS[@]}"; do
    n=$((n + 1))
    start_app_process "api-${n}" "API ready" src/api/main.ts "${common[@]}" TEMPOJOB_PORT="${port}" TEMPOJOB_HOST=127.0.0.1 \
      TEMPOJOB_JWT_SECRET="${TEMPOJOB_JWT_SECRET}" TEMPOJOB_ADMIN_TOKEN="${TEMPOJOB_ADMIN_TOKEN}" TEMPOJOB_APPS="demo:${TEMPOJOB_DEMO_PASSWORD}" \
      TEMPOJOB_LOG_DATABASE_URL="${TEMPOJOB_CLUSTER_LOG_DATABASE_URL}"
  done
  for ((n = 1; n <= CLUSTER_CORE_WORKERS; n++)); do
    start_app_process "core-${n}" "core worker ready" src/core/main.ts "${common[@]}" TEMPOJOB_WORKFLOW_BUNDLE="${bundle}" \
      TEMPOJOB_LOG_DATABASE_URL="${TEMPOJOB_CLUSTER_LOG_DATABASE_URL}"
  done
  for ((n = 1; n <= CLUSTER_PROCESSOR_WORKERS; n++)); do
    start_app_process "processor-${n}" "processor worker ready" "scripts/cluster/demo-worker.ts --worker-id demo-worker-${n}" "${common[@]}" \
      TEMPOJOB_API_URL="http://127.0.0.1:${CLUSTER_API_PORTS[$(((n - 1) % ${#CLUSTER_API_PORTS[@]}))]}" TEMPOJOB_APP_PASSWORD="${TEMPOJOB_DEMO_PASSWORD}"
  done
  if [[ -f "${CLUSTER_RUN}/.starting" ]]; then
    local deadline=$((SECONDS + 120)) entry name ready
    while read -r entry; do
      name="${entry%%|*}"
      ready="${entry#*|}"
      until grep -q "${ready}" "${CLUSTER_LOGS}/${name}.log"; do
        pid_alive "${name}" || { tail -20 "${CLUSTER_LOGS}/${name}.log" >&2; die "${name} exited"; }
        ((SECONDS < deadline)) || die "${name} not ready within 120 s; see ${CLUSTER_LOGS}/${name}.log"
        sleep 0.3
      done
      log "app: ${name} ready"
    done <"${CLUSTER_RUN}/.starting"
    rm -f "${CLUSTER_RUN}/.starting"
  fi
  log "app: API replicas $(printf 'http://127.0.0.1:%s ' "${CLUSTER_API_PORTS[@]}")(secrets in ${secrets#"${CLUSTER_ROOT}/"})"
}

step_postgres_install
step_temporal_build
step_cli
step_tls
step_postgres_start
step_schema
step_temporal_start
step_namespace
((WITH_APP)) && step_app
log "ready in $((SECONDS - started_at)) s: Temporal ${CLUSTER_TEMPORAL_ADDRESS} (namespace ${TEMPORAL_NAMESPACE_NAME}), PostgreSQL ${TEMPOJOB_CLUSTER_PG_HOST}:${TEMPOJOB_CLUSTER_PG_PORT}; stop with scripts/cluster/down.sh"
echo "TEMPORAL_ADDRESS=${CLUSTER_TEMPORAL_ADDRESS}"
echo "TEMPOJOB_LOG_DATABASE_URL=${TEMPOJOB_CLUSTER_LOG_DATABASE_URL}"
# How clients connect (mTLS): one VAR=value line each.
if ((${#CLUSTER_CLIENT_TLS_ENV[@]})); then printf '%s\n' "${CLUSTER_CLIENT_TLS_ENV[@]}"; fi
