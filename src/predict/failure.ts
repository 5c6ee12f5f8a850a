// A failure to predict or rehearse: a whole mesh cluster, or one service in it. Applied to the model as a
// transform (its endpoints there become not ready), so translation decides what follows, as it would for
// a real failure: nothing here knows the routing rules.
import { CLUSTER_DOMAIN, MeshModel, ServiceEntry, serviceHost } from '../mesh/model';

export interface Failure {
  cluster: string;
  /** Service host (`name.namespace.svc.cluster.local`); absent = every service in the cluster. */
  service?: string;
}

/** Longest `cluster/service` text accepted (a DNS name is at most 253 characters). */
export const MAX_FAILURE_TEXT = 300;

/** `checkout.shop` and `checkout.shop.svc.cluster.local` name the same service. */
export function fullHost(service: string): string {
  return service.endsWith(`.svc.${CLUSTER_DOMAIN}`) ? service : `${service}.svc.${CLUSTER_DOMAIN}`;
}

export function describeFailure(failure: Failure): string {
  return failure.service
    ? `${failure.cluster}/${failure.service.replace(/\.svc\.cluster\.local$/, '')}`
    : failure.cluster;
}

/**
 * Parses `east` or `east/checkout.shop` against the model; the error says what exists instead. Unknown
 * names are refused, so a typo never predicts "nothing changes".
 */
export function parseFailure(
  text: string,
  model: MeshModel,
): { ok: true; failure: Failure } | { ok: false; error: string } {
  if (text.length === 0 || text.length > MAX_FAILURE_TEXT)
    return { ok: false, error: `a failure is CLUSTER or CLUSTER/SERVICE (at most ${MAX_FAILURE_TEXT} characters)` };
  const [cluster = '', service, extra] = text.split('/');
  if (extra !== undefined)
    return { ok: false, error: `"${text.slice(0, 80)}" has more than one "/": give CLUSTER or CLUSTER/SERVICE` };
  if (!model.clusters.has(cluster)) {
    return {
      ok: false,
      error: `no cluster "${cluster.slice(0, 80)}" in the mesh; clusters: ${[...model.clusters.keys()].sort().join(', ') || '(none)'}`,
    };
  }
  if (service === undefined) return { ok: true, failure: { cluster } };
  const host = fullHost(service);
  const entry = model.services.get(host);
  if (!entry)
    return {
      ok: false,
      error: `no service "${service.slice(0, 120)}" in the mesh (give name.namespace, e.g. checkout.shop)`,
    };
  if (!entry.endpoints.some((e) => e.cluster === cluster))
    return { ok: false, error: `service ${service.slice(0, 120)} has no endpoints in cluster ${cluster}` };
  return { ok: true, failure: { cluster, service: host } };
}

function hits(failure: Failure, host: string, cluster: string): boolean {
  return failure.cluster === cluster && (failure.service === undefined || failure.service === host);
}

/** Whether any endpoint of the service is in a failed cluster. */
export function isAffected(entry: ServiceEntry, failures: readonly Failure[]): boolean {
  const host = serviceHost(entry.service);
  return entry.endpoints.some((e) => failures.some((f) => hits(f, host, e.cluster)));
}

/**
 * The model with the failed endpoints not ready. Untouched services keep their very entry objects, so
 * translation reuses what it built for them (parts are keyed by content).
 */
export function applyFailures(model: MeshModel, failures: readonly Failure[]): MeshModel {
  if (failures.length === 0) return model;
  const services = new Map<string, ServiceEntry>();
  for (const [host, entry] of model.services) {
    if (!isAffected(entry, failures)) {
      services.set(host, entry);
      continue;
    }
    const endpoints = entry.endpoints.map((e) =>
      e.ready && failures.some((f) => hits(f, host, e.cluster)) ? { ...e, ready: false } : e,
    );
    services.set(host, { service: entry.service, endpoints });
  }
  return { clusters: model.clusters, services };
}
