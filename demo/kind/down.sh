#!/usr/bin/env bash
# Deletes the two kind clusters of the demo (up.sh). The spillway:demo image stays in docker.
set -euo pipefail

for cluster in spillway-east spillway-west; do
  if kind get clusters | grep -x "${cluster}" >/dev/null; then
    kind delete cluster --name "${cluster}"
  else
    echo "${cluster} does not exist"
  fi
done
