// Which workload a sidecar fronts, from its Node: what decides whether it gets a scoped configuration
// (the workload's declared `calls`). Spillway's own key first, then the keys Istio's injector already sets,
// so sidecars bootstrapped for Istio need no change.
import { MeshModel } from '../../mesh/model';
import { callHost } from '../../mesh/calls';
import { NodeInfo } from '../node/node-info';

/** Istio's labels for the app a pod runs, in the order Istio itself reads them. */
const APP_LABELS = ['app', 'app.kubernetes.io/name'] as const;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The full host of the workload's service: metadata SERVICE (`name.namespace`, or the full
 * `name.namespace.svc.cluster.local`), else NAMESPACE with LABELS.app or LABELS["app.kubernetes.io/name"].
 * Undefined when neither says, or what they say is no service host.
 */
export function workloadHost(node: Pick<NodeInfo, 'metadata'>): string | undefined {
  const service = text(node.metadata.SERVICE);
  if (service !== undefined) return callHost(service);
  const namespace = text(node.metadata.NAMESPACE);
  const labels = node.metadata.LABELS;
  if (namespace === undefined || typeof labels !== 'object' || labels === null) return undefined;
  for (const key of APP_LABELS) {
    const app = text((labels as Record<string, unknown>)[key]);
    if (app !== undefined) return callHost(`${app}.${namespace}`);
  }
  return undefined;
}

/** The workload's declared callees, when the model knows the workload and it declares any. */
export function declaredCalls(model: MeshModel, workload: string | undefined): readonly string[] | undefined {
  return workload === undefined ? undefined : model.services.get(workload)?.service.calls;
}

const declaringKeys = new WeakMap<MeshModel, string>();

/** The workloads that declare calls, as one text: when it changes, connected sidecars may need another view. */
export function declaringWorkloads(model: MeshModel): string {
  let key = declaringKeys.get(model);
  if (key === undefined) {
    const hosts: string[] = [];
    for (const [host, entry] of model.services) if (entry.service.calls) hosts.push(host);
    key = hosts.sort().join(',');
    declaringKeys.set(model, key);
  }
  return key;
}
