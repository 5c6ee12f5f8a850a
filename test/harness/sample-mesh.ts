// A small hand-written mesh for tests that do not need the mesh file: clusters east and west, an exported
// `checkout` and an unexported `ledger`, endpoints on loopback.
import { MeshEndpoint, MeshModel, MeshService, ServiceEntry, serviceHost } from '../../src/mesh/model';

export interface SampleOptions {
  checkoutEndpoints?: MeshEndpoint[];
  extraServices?: ServiceEntry[];
}

export function endpoint(cluster: string, port: number, extra: Partial<MeshEndpoint> = {}): MeshEndpoint {
  return { cluster, address: '127.0.0.1', ports: { http: port }, labels: {}, ready: true, ...extra };
}

export function httpService(
  name: string,
  namespace: string,
  port: number,
  extra: Partial<MeshService> = {},
): MeshService {
  return {
    name,
    namespace,
    ports: [{ name: 'http', port, protocol: 'http' }],
    exported: true,
    subsetLabel: 'version',
    failover: 'cluster',
    ...extra,
  };
}

export function sampleMesh(options: SampleOptions = {}): MeshModel {
  const checkout: ServiceEntry = {
    service: httpService('checkout', 'shop', 8080),
    endpoints: options.checkoutEndpoints ?? [endpoint('east', 18081), endpoint('west', 18082)],
  };
  const ledger: ServiceEntry = {
    service: httpService('ledger', 'shop', 8080, { exported: false }),
    endpoints: [endpoint('west', 18086)],
  };
  const services = new Map<string, ServiceEntry>();
  for (const entry of [checkout, ledger, ...(options.extraServices ?? [])])
    services.set(serviceHost(entry.service), entry);
  return {
    clusters: new Map([
      [
        'east',
        {
          name: 'east',
          region: 'europe-west1',
          zone: 'europe-west1-b',
          gateway: { address: '127.0.0.2', port: 15443 },
        },
      ],
      [
        'west',
        {
          name: 'west',
          region: 'europe-west1',
          zone: 'europe-west1-c',
          gateway: { address: '127.0.0.3', port: 15443 },
        },
      ],
    ]),
    services,
  };
}
