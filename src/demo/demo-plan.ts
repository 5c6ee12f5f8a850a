// What the demo starts, read off the mesh: one backend process per endpoint address, one gateway Envoy per
// cluster that has a gateway, one sidecar Envoy in the client cluster. Pure, so the plan is testable.
import { MeshCluster, MeshModel, serviceHost } from '../mesh/model';
import { sortedServices } from '../mesh/rules';
import { BackendIdentity } from './backend-identity';

export const DEMO_CLIENT_CLUSTER = 'east';
export const DEMO_SERVICE_HOST = 'checkout.shop.svc.cluster.local';
export const SIDECAR_OUTBOUND = { host: '127.0.0.1', port: 15001 } as const;
export const DEMO_XDS = { host: '127.0.0.1', port: 15010 } as const;
export const DEMO_ADMIN = { host: '127.0.0.1', port: 15014 } as const;

export interface PlannedBackend {
  identity: BackendIdentity;
  host: string;
}

export interface PlannedGateway {
  cluster: MeshCluster;
  host: string;
  port: number;
}

/** An address the demo must be able to bind, with what it is for (named in the "busy" error). */
export interface PlannedAddress {
  host: string;
  port: number;
  purpose: string;
}

export interface DemoPlan {
  client: MeshCluster;
  backends: PlannedBackend[];
  gateways: PlannedGateway[];
  addresses: PlannedAddress[];
}

/** "east checkout v1 127.0.0.1:18081" */
export function describeBackend(backend: PlannedBackend): string {
  const { cluster, service, version, port } = backend.identity;
  return `${cluster} ${service} ${version} ${backend.host}:${port}`;
}

export function planDemo(model: MeshModel, clientCluster = DEMO_CLIENT_CLUSTER): DemoPlan {
  const client = model.clusters.get(clientCluster);
  if (!client) throw new Error(`the demo mesh has no cluster "${clientCluster}" for the sidecar`);
  const backends: PlannedBackend[] = [];
  const seen = new Set<string>();
  for (const entry of sortedServices(model)) {
    const host = serviceHost(entry.service);
    const service = host.replace(/\.svc\.cluster\.local$/, '');
    for (const endpoint of entry.endpoints) {
      for (const port of Object.values(endpoint.ports)) {
        const key = `${endpoint.address}:${port}`;
        // One process per address: two services naming the same address would share it anyway.
        if (seen.has(key)) continue;
        seen.add(key);
        const version = endpoint.labels[entry.service.subsetLabel] ?? 'unversioned';
        backends.push({ identity: { cluster: endpoint.cluster, service, version, port }, host: endpoint.address });
      }
    }
  }
  const gateways = [...model.clusters.values()]
    .filter((cluster) => cluster.gateway !== undefined)
    .map((cluster) => ({ cluster, host: cluster.gateway?.address ?? '', port: cluster.gateway?.port ?? 0 }));
  const addresses: PlannedAddress[] = [
    { ...DEMO_XDS, purpose: 'Spillway xDS server' },
    { ...DEMO_ADMIN, purpose: 'Spillway admin server' },
    { ...SIDECAR_OUTBOUND, purpose: `sidecar outbound listener (cluster ${client.name})` },
    ...gateways.map((g) => ({ host: g.host, port: g.port, purpose: `east-west gateway of cluster ${g.cluster.name}` })),
    ...backends.map((b) => ({ host: b.host, port: b.identity.port, purpose: `backend ${describeBackend(b)}` })),
  ];
  return { client, backends, gateways, addresses };
}
