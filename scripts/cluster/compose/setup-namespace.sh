#!/bin/sh
# docker-compose.yml, service temporal-setup (image temporalio/admin-tools): creates the
# namespace with its retention (= tempojob's idempotency window for finished runs) and
# registers tempojob's search attributes, once, before any tempojob replica starts.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:?}" "${SEARCH_ATTRIBUTES:?}"

attempt=0
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1; do
  attempt=$((attempt + 1)); [ "${attempt}" -lt 60 ] || { echo 'Temporal not healthy'; exit 1; }
  sleep 2
done

if temporal operator namespace describe -n "${NAMESPACE}" --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE}: exists"
else
  temporal operator namespace create -n "${NAMESPACE}" --retention "${RETENTION}" --address "${TEMPORAL_ADDRESS}"
  echo "namespace ${NAMESPACE}: created (retention ${RETENTION})"
fi

# SEARCH_ATTRIBUTES: "Name=Type,Name=Type" (src/temporal/search-attributes.ts).
for entry in $(echo "${SEARCH_ATTRIBUTES}" | tr ',' ' '); do
  name="${entry%%=*}"
  type="${entry#*=}"
  attempt=0
  # A namespace created a moment ago reaches the frontend's cache within seconds: retry.
  until temporal operator search-attribute list -n "${NAMESPACE}" --address "${TEMPORAL_ADDRESS}" 2>/dev/null | grep -q "^ *${name} " \
      || temporal operator search-attribute create -n "${NAMESPACE}" --name "${name}" --type "${type}" --address "${TEMPORAL_ADDRESS}"; do
    attempt=$((attempt + 1)); [ "${attempt}" -lt 30 ] || { echo "cannot register ${name}"; exit 1; }
    sleep 2
  done
  echo "search attribute ${name} (${type}): registered"
done
