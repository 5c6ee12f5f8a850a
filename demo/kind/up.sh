#!/usr/bin/env bash
# Two kind clusters, spillway-east and spillway-west, each running Spillway, an east-west gateway, the
# checkout app (v1 + v2 canary) and a curl client, every app Pod with an Envoy sidecar. Each cluster is
# registered in the other through a remote Secret. See demo/kind/README.md for the failover story.
# Needs docker, kind and kubectl. Re-running it is safe: it skips existing clusters and re-applies.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${HERE}/../.." && pwd)"
IMAGE="spillway:demo"
CLUSTERS=(east west)

# shellcheck source=values.env
source "${HERE}/values.env"

for tool in docker kind kubectl base64 sed; do
  command -v "${tool}" >/dev/null 2>&1 || { echo "up.sh: ${tool} is required" >&2; exit 1; }
done

kind_name() { echo "spillway-$1"; }
context() { echo "kind-spillway-$1"; }
peer_of() { if [[ "$1" == east ]]; then echo west; else echo east; fi; }
upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }
# values.env's EAST_REGION etc., by cluster name.
value() { local key; key="$(upper "$1")_$2"; echo "${!key}"; }
# The node's address on the docker network `kind`: what the other cluster's Pods reach the NodePort at.
node_ip() {
  docker inspect -f '{{ (index .NetworkSettings.Networks "kind").IPAddress }}' "$(kind_name "$1")-control-plane"
}

# render CLUSTER FILE: the placeholder substitution test/e2e/kind-demo-manifests.test.ts repeats.
render() {
  local cluster="$1" file="$2" peer
  peer="$(peer_of "${cluster}")"
  sed \
    -e "s|__CLUSTER__|${cluster}|g" \
    -e "s|__REGION__|$(value "${cluster}" REGION)|g" \
    -e "s|__ZONE__|$(value "${cluster}" ZONE)|g" \
    -e "s|__GATEWAY__|$(node_ip "${cluster}"):${GATEWAY_PORT}|g" \
    -e "s|__GATEWAY_PORT__|${GATEWAY_PORT}|g" \
    -e "s|__PEER__|${peer}|g" \
    -e "s|__PEER_REGION__|$(value "${peer}" REGION)|g" \
    -e "s|__PEER_ZONE__|$(value "${peer}" ZONE)|g" \
    -e "s|__PEER_GATEWAY__|$(node_ip "${peer}"):${GATEWAY_PORT}|g" \
    -e "s|__PEER_KUBECONFIG_B64__|$(kind get kubeconfig --internal --name "$(kind_name "${peer}")" | base64 | tr -d '\n')|g" \
    "${file}"
}

apply() { # CLUSTER FILE...
  local cluster="$1" file
  shift
  for file in "$@"; do
    render "${cluster}" "${file}" | kubectl --context "$(context "${cluster}")" apply -f -
  done
}

echo "==> kind clusters"
for cluster in "${CLUSTERS[@]}"; do
  if kind get clusters | grep -x "$(kind_name "${cluster}")" >/dev/null; then
    echo "$(kind_name "${cluster}") exists"
  else
    kind create cluster --config "${HERE}/kind-${cluster}.yaml" --wait 120s
  fi
done

echo "==> image ${IMAGE}"
docker build -t "${IMAGE}" "${REPO_ROOT}"
for cluster in "${CLUSTERS[@]}"; do
  kind load docker-image "${IMAGE}" --name "$(kind_name "${cluster}")"
done

M="${HERE}/manifests"
for cluster in "${CLUSTERS[@]}"; do
  echo "==> ${cluster}: namespaces and the remote Secret of $(peer_of "${cluster}")"
  apply "${cluster}" "${M}/00-namespaces.yaml" "${M}/10-remote-secret.yaml"
  echo "==> ${cluster}: Spillway, gateway, checkout, curl"
  apply "${cluster}" "${M}/20-spillway.yaml" "${M}/30-gateway.yaml" "${M}/40-sidecar-bootstrap.yaml" "${M}/50-checkout.yaml" "${M}/60-curl.yaml"
  # The clusters file and the remote Secret are read at start: restart so a re-run picks up new ones.
  kubectl --context "$(context "${cluster}")" -n spillway-system rollout restart deployment/spillway
done

for cluster in "${CLUSTERS[@]}"; do
  echo "==> ${cluster}: waiting for rollouts"
  kubectl --context "$(context "${cluster}")" -n spillway-system rollout status deployment/spillway --timeout 180s
  kubectl --context "$(context "${cluster}")" -n spillway-system rollout status deployment/spillway-eastwest-gateway --timeout 180s
  for deployment in checkout-v1 checkout-v2 curl; do
    kubectl --context "$(context "${cluster}")" -n shop rollout status "deployment/${deployment}" --timeout 180s
  done
done

cat <<MSG

Ready. Gateways: east $(node_ip east):${GATEWAY_PORT}, west $(node_ip west):${GATEWAY_PORT}.
  kubectl --context kind-spillway-east -n shop logs -f deploy/curl -c curl       # checkout v1/v2 in east
  kubectl --context kind-spillway-east -n shop scale deploy checkout-v1 checkout-v2 --replicas 0
                                                                                  # -> checkout ... in west
  kubectl --context kind-spillway-east -n spillway-system port-forward svc/spillway 15014
  open http://127.0.0.1:15014/  or  spillway status --admin 127.0.0.1:15014
  demo/kind/down.sh when done.
MSG
