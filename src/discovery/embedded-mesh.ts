// The mesh `spillway serve` serves without --mesh, so a first run shows failover and a canary at once.
// Same content as examples/mesh.yaml (a unit test parses both and requires equal models).

export const EMBEDDED_MESH_YAML = `# Spillway example mesh: three clusters on loopback, an exported checkout with a v2 canary, and a
# ledger that stays inside its cluster. spillway serve without --mesh serves exactly this mesh
# (src/discovery/embedded-mesh.ts; a unit test keeps the two identical).
# Check a file with spillway validate FILE; serve one with spillway serve --mesh FILE (hot-reloaded).

clusters:
  - name: east
    region: europe-west1
    zone: europe-west1-b
    gateway: 127.0.0.2:15443 # east-west gateway as the other clusters reach it
  - name: west
    region: europe-west1
    zone: europe-west1-c
    gateway: 127.0.0.3:15443
  - name: south
    region: us-east1
    zone: us-east1-b
    gateway: 127.0.0.4:15443

services:
  - name: checkout
    namespace: shop
    ports: [{ name: http, port: 8080 }]
    export: true # reachable from every cluster; local endpoints first, then the other clusters' gateways
    canary:
      stable: v1
      canary: v2
      weight: 10 # percent of requests without the header
      header: { name: x-canary, exact: "true" } # these requests always try the canary first
    endpoints:
      - { cluster: east, address: 127.0.0.1, port: 18081, labels: { version: v1 } }
      - { cluster: east, address: 127.0.0.1, port: 18085, labels: { version: v2 } }
      - { cluster: west, address: 127.0.0.1, port: 18082, labels: { version: v1 } }
      - { cluster: west, address: 127.0.0.1, port: 18083, labels: { version: v1 } }
      - { cluster: south, address: 127.0.0.1, port: 18084, labels: { version: v1 } }

  - name: ledger
    namespace: shop
    ports: [{ name: http, port: 8080 }]
    # not exported: only clients in west see it
    endpoints:
      - { cluster: west, address: 127.0.0.1, port: 18086 }
`;
