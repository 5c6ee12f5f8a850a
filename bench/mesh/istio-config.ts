// The generated mesh as Istio config: one ServiceEntry per service (MESH_INTERNAL, STATIC, so sidecars
// get an EDS cluster per service), with every ready endpoint of every cluster and its locality. Istio
// has no "not ready" for a ServiceEntry endpoint: an endpoint that is not ready is left out.
// Encoded as istio.networking.v1alpha3.ServiceEntry (istio.io/api networking/v1alpha3/service_entry.proto,
// workload_entry.proto), the body istiod's MCP (xDS) config source expects. On a mesh whose services declare
// what they call (the scoped workload), each service also gets a Sidecar (networking/v1alpha3/sidecar.proto)
// that selects its workload by label and lists those services as egress hosts.
import * as protobuf from 'protobufjs';
import {
  MeshSize,
  BENCH_NAMESPACE,
  ENDPOINT_PORT,
  SERVICE_PORT,
  callsOf,
  endpointAddress,
  endpointKey,
  NotReady,
  regionOf,
  serviceName,
  zoneOf,
  clusterName,
} from './generate-mesh';
import { serviceHost } from '../../src/mesh/model';

/** ServiceEntry.Location MESH_INTERNAL, ServiceEntry.Resolution STATIC. */
const MESH_INTERNAL = 1;
const STATIC = 1;
const LENGTH_DELIMITED = 2;
const VARINT = 0;

const tag = (field: number, wireType: number) => (field << 3) | wireType;

/** One map<string, string> entry (key 1, value 2) as field `field` of `writer`. */
function mapEntry(writer: protobuf.Writer, field: number, key: string, value: string): void {
  writer
    .uint32(tag(field, LENGTH_DELIMITED))
    .fork()
    .uint32(tag(1, LENGTH_DELIMITED))
    .string(key)
    .uint32(tag(2, LENGTH_DELIMITED))
    .string(value)
    .ldelim();
}

/**
 * ServiceEntry: hosts 1, ports 3 (ServicePort: number 1, protocol 2, name 3, target_port 4), location 4,
 * resolution 5, endpoints 6 (WorkloadEntry: address 1, labels 3, locality 5).
 */
export function serviceEntryProto(size: MeshSize, service: number, notReady: NotReady): Uint8Array {
  const writer = protobuf.Writer.create();
  writer
    .uint32(tag(1, LENGTH_DELIMITED))
    .string(serviceHost({ name: serviceName(service), namespace: BENCH_NAMESPACE }));
  writer
    .uint32(tag(3, LENGTH_DELIMITED))
    .fork()
    .uint32(tag(1, VARINT))
    .uint32(SERVICE_PORT)
    .uint32(tag(2, LENGTH_DELIMITED))
    .string('HTTP')
    .uint32(tag(3, LENGTH_DELIMITED))
    .string('http')
    .uint32(tag(4, VARINT))
    .uint32(ENDPOINT_PORT)
    .ldelim();
  writer.uint32(tag(4, VARINT)).uint32(MESH_INTERNAL);
  writer.uint32(tag(5, VARINT)).uint32(STATIC);
  for (let c = 0; c < size.clusters; c++) {
    for (let e = 0; e < size.endpointsPerCluster; e++) {
      if (notReady.has(endpointKey(service, c, e))) continue;
      writer.uint32(tag(6, LENGTH_DELIMITED)).fork();
      writer.uint32(tag(1, LENGTH_DELIMITED)).string(endpointAddress(size, c, service, e));
      mapEntry(writer, 3, 'topology.istio.io/cluster', clusterName(c));
      writer.uint32(tag(5, LENGTH_DELIMITED)).string(`${regionOf(c)}/${zoneOf(c)}`);
      writer.ldelim();
    }
  }
  return writer.finish();
}

/** The pod label a scoped workload's sidecar carries (node metadata LABELS) and its Sidecar selects. */
export const WORKLOAD_LABEL = 'app';

/** The labels of service `service`'s workload, as its sidecar reports them and its Sidecar selects them. */
export function workloadLabels(service: number): Record<string, string> {
  return { [WORKLOAD_LABEL]: serviceName(service) };
}

/** Sidecar egress host of service `service`: `<config namespace>/<host>`. */
export function egressHost(service: number): string {
  return `${BENCH_NAMESPACE}/${serviceHost({ name: serviceName(service), namespace: BENCH_NAMESPACE })}`;
}

/**
 * Sidecar of service `service`'s workload, in the mesh namespace: workload_selector 1 (WorkloadSelector:
 * labels 1), egress 3 (IstioEgressListener: hosts 4), one listener for every port, with the hosts it calls
 * (callsOf). Without a port or bind it scopes the sidecar's outbound config and nothing else.
 */
export function sidecarProto(size: MeshSize, service: number): Uint8Array {
  const writer = protobuf.Writer.create();
  writer.uint32(tag(1, LENGTH_DELIMITED)).fork();
  for (const [key, value] of Object.entries(workloadLabels(service))) mapEntry(writer, 1, key, value);
  writer.ldelim();
  writer.uint32(tag(3, LENGTH_DELIMITED)).fork();
  for (const called of callsOf(size, service)) writer.uint32(tag(4, LENGTH_DELIMITED)).string(egressHost(called));
  writer.ldelim();
  return writer.finish();
}

/** Istio mesh config: defaults, the discovery address the sidecars would be told, and where config comes from. */
export function meshConfigYaml(xdsAddress: string, configSourceAddress: string): string {
  return [
    'defaultConfig:',
    `  discoveryAddress: ${xdsAddress}`,
    'configSources:',
    `- address: xds://${configSourceAddress}`,
    '',
  ].join('\n');
}
