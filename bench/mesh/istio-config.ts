// The generated mesh as Istio config: one ServiceEntry per service (MESH_INTERNAL, STATIC, so sidecars
// get an EDS cluster per service), with every ready endpoint of every cluster and its locality. Istio
// has no "not ready" for a ServiceEntry endpoint: an endpoint that is not ready is left out.
import { MeshSize, BENCH_NAMESPACE, ENDPOINT_PORT, SERVICE_PORT, endpointAddress, endpointKey, NotReady, regionOf, serviceName, zoneOf, clusterName } from './generate-mesh';
import { serviceHost } from '../../src/mesh/model';

export function serviceEntryYaml(size: MeshSize, service: number, notReady: NotReady): string {
  const name = serviceName(service);
  const lines = [
    'apiVersion: networking.istio.io/v1',
    'kind: ServiceEntry',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${BENCH_NAMESPACE}`,
    'spec:',
    `  hosts: ["${serviceHost({ name, namespace: BENCH_NAMESPACE })}"]`,
    '  location: MESH_INTERNAL',
    '  resolution: STATIC',
    '  ports:',
    `  - {number: ${SERVICE_PORT}, name: http, protocol: HTTP, targetPort: ${ENDPOINT_PORT}}`,
    '  endpoints:',
  ];
  let endpoints = 0;
  for (let c = 0; c < size.clusters; c++) {
    for (let e = 0; e < size.endpointsPerCluster; e++) {
      if (notReady.has(endpointKey(service, c, e))) continue;
      endpoints++;
      lines.push(`  - {address: ${endpointAddress(size, c, service, e)}, locality: ${regionOf(c)}/${zoneOf(c)}, labels: {topology.istio.io/cluster: ${clusterName(c)}}}`);
    }
  }
  if (endpoints === 0) lines.pop();
  return lines.join('\n') + '\n';
}

/** Istio mesh config: defaults, plus the discovery address the sidecars would be told. */
export function meshConfigYaml(xdsAddress: string): string {
  return ['defaultConfig:', `  discoveryAddress: ${xdsAddress}`, ''].join('\n');
}
