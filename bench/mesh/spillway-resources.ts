// Spillway's resources for every sidecar view of a mesh, as the go-control-plane peer loads them: so the
// peer serves byte-for-byte what Spillway serves and only the serving machinery is compared.
import * as protobuf from 'protobufjs';
import { MeshModel, serviceHost } from '../../src/mesh/model';
import { EncodedResource } from '../../src/xds/resource/encoded-resource';
import { translateView } from '../../src/xds/translate/translator';
import { DEFAULT_OUTBOUND_ADDRESS, DEFAULT_OUTBOUND_PORT } from '../../src/xds/translate/client-view';
import { ViewKey } from '../../src/xds/node/view-key';
import { BENCH_NAMESPACE, MeshSize, clusterName, scopedWorkloads, serviceName } from './generate-mesh';

export interface ResourceLine {
  /** Snapshot key: the CLUSTER_ID of the clients that get it. */
  view: string;
  type: string;
  name: string;
  /** google.protobuf.Any bytes, base64. */
  any: string;
}

/** Resource versions per (view, type, name), to send the peer only what changed. */
export type SentVersions = Map<string, string>;

/** The Any inside a pre-encoded `resources` field (tag, length, Any). */
function anyBytes(resource: EncodedResource): Uint8Array {
  const reader = protobuf.Reader.create(resource.sotwField);
  reader.uint32();
  return reader.bytes();
}

/**
 * The sidecar views of the mesh: one per cluster, or with declared calls one per (cluster, workload), as
 * the peer keys them (node.metadata CLUSTER_ID, and `/SERVICE` when the node names its workload).
 */
function sidecarViews(size: MeshSize): { view: string; key: ViewKey }[] {
  const views: { view: string; key: ViewKey }[] = [];
  for (let c = 0; c < size.clusters; c++) {
    const base = {
      clusterId: clusterName(c),
      role: 'sidecar' as const,
      outboundAddress: DEFAULT_OUTBOUND_ADDRESS,
      outboundPort: DEFAULT_OUTBOUND_PORT,
    };
    if (!size.callsPerWorkload) {
      views.push({ view: clusterName(c), key: ViewKey.of(base) });
      continue;
    }
    for (const s of scopedWorkloads(size)) {
      const workload = { name: serviceName(s), namespace: BENCH_NAMESPACE };
      views.push({
        view: `${clusterName(c)}/${workload.name}.${workload.namespace}`,
        key: ViewKey.of({ ...base, workload: serviceHost(workload) }),
      });
    }
  }
  return views;
}

/**
 * Lines for the resources that differ from `sent` (all of them the first time), and records them as sent.
 * Only resources an Envoy's wildcard requests would get are included (named-only proxyless listeners are
 * not: go-control-plane has no such notion and the benchmark's clients are Envoy-like).
 */
export function changedResourceLines(model: MeshModel, size: MeshSize, sent: SentVersions): ResourceLine[] {
  const lines: ResourceLine[] = [];
  for (const { view, key } of sidecarViews(size)) {
    const translation = translateView(model, key);
    if (translation.issues.length > 0)
      throw new Error(`translation issues in ${key.id}: ${JSON.stringify(translation.issues.slice(0, 3))}`);
    for (const resource of translation.resources) {
      if (!resource.inWildcard) continue;
      const id = `${view}\u0000${resource.typeUrl}\u0000${resource.name}`;
      if (sent.get(id) === resource.version) continue;
      sent.set(id, resource.version);
      lines.push({
        view,
        type: resource.typeUrl,
        name: resource.name,
        any: Buffer.from(anyBytes(resource)).toString('base64'),
      });
    }
  }
  return lines;
}
