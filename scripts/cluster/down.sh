#!/usr/bin/env bash
# Stops what scripts/cluster/up.sh started: tempojob processes, the Temporal services,
# PostgreSQL. Data stays in .data/cluster/ unless --purge (then the next up.sh starts from
# an empty database). Builds in .tools/ are kept either way.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) die "unknown argument $arg (try --help)" ;;
  esac
done

# SIGTERM to each process group (each was started with setsid) at once, SIGKILL to what
# is still there after 15 s.
stop_groups() { # name...
  local name file pid pids=() names=()
  for name in "$@"; do
    file="${CLUSTER_RUN}/${name}.pid"
    [[ -f "${file}" ]] || continue
    pid="$(cat "${file}")"
    rm -f "${file}"
    kill -0 "${pid}" 2>/dev/null || continue
    kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true
    pids+=("${pid}")
    names+=("${name}")
  done
  ((${#pids[@]})) || return 0
  local deadline=$((SECONDS + 15)) alive
  while ((SECONDS < deadline)); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "${pid}" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do
    kill -0 "${pid}" 2>/dev/null && { kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true; }
  done
  log "stopped ${names[*]}"
}

if [[ -d "${CLUSTER_RUN}" ]]; then
  # tempojob first (workers drain against a live Temporal), then Temporal.
  apps=()
  for file in "${CLUSTER_RUN}"/api-*.pid "${CLUSTER_RUN}"/core-*.pid "${CLUSTER_RUN}"/processor-*.pid; do
    [[ -e "${file}" ]] && apps+=("$(basename "${file}" .pid)")
  done
  ((${#apps[@]})) && stop_groups "${apps[@]}"
  stop_groups temporal-frontend temporal-worker temporal-matching temporal-history
fi

pg_paths
if [[ -s "${CLUSTER_PGDATA}/PG_VERSION" && -n "$(pg_bin)" ]] \
  && as_pg_owner "$(pg_bin)/pg_ctl" -D "${CLUSTER_PGDATA}" status >/dev/null 2>&1; then
  as_pg_owner "$(pg_bin)/pg_ctl" -D "${CLUSTER_PGDATA}" -m fast -w stop >/dev/null
  log "stopped PostgreSQL"
fi

if ((PURGE)); then
  rm -rf "${CLUSTER_DIR}" "${CLUSTER_PG_HOME}"
  log "purged ${CLUSTER_DIR#"${CLUSTER_ROOT}/"}"
fi
