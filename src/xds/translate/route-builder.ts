// RDS: a sidecar's outbound route table. A service is found by Host/:authority in every usual form:
// `checkout`, `checkout.shop`, `checkout.shop.svc`, `checkout.shop.svc.cluster.local`, with or without port.
import { ServiceEntry, ServicePort, serviceHost } from '../../mesh/model';
import { RetryPolicy, Route, RouteAction, RouteTable, VirtualHost } from '../resource/envoy-messages';
import { typedAny } from '../resource/typed-any';
import { durationFromMs } from '../duration';

export const ROUTE_TIMEOUT_MS = 15_000;
/** Retries steer a failed request to another host, and to the next priority when the first is failing. */
export const RETRY_ATTEMPTS = 3;

export interface RouteTarget {
  entry: ServiceEntry;
  port: ServicePort;
  /** Routes of the service (default route last). */
  routes: Route[];
}

/** Every host form of a service, most specific first; the portless forms go to the service's first port. */
export function hostForms(entry: ServiceEntry, port: ServicePort): string[] {
  const { name, namespace } = entry.service;
  const bases = [serviceHost(entry.service), `${name}.${namespace}.svc`, `${name}.${namespace}`, name];
  const firstPort = [...entry.service.ports].sort((a, b) => a.port - b.port)[0];
  const forms = bases.map((base) => `${base}:${port.port}`);
  if (firstPort?.port === port.port) forms.push(...bases);
  return forms;
}

export function retryPolicy(): RetryPolicy {
  return {
    retry_on: 'connect-failure,refused-stream,reset,unavailable,gateway-error',
    num_retries: { value: RETRY_ATTEMPTS },
    retry_host_predicate: [
      {
        name: 'envoy.retry_host_predicates.previous_hosts',
        typed_config: typedAny(
          'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
          {},
        ),
      },
    ],
    host_selection_retry_max_attempts: 5,
    retry_priority: {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: typedAny(
        'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
        { update_frequency: 1 },
      ),
    },
  };
}

/**
 * Proxyless gRPC clients retry only by an xDS retry policy (gRFC A44); without one, calls in flight on a
 * backend that dies fail. UNAVAILABLE is what a dropped connection or a refused pick yields, and it is
 * safe to retry: the server did not answer. gRPC caps attempts at 5 and ignores Envoy's host predicates.
 */
export const GRPC_RETRY_ON = 'unavailable';
export const GRPC_RETRY_ATTEMPTS = 3;
/**
 * gRPC's own defaults (A44). A longer backoff slows a client retrying on a host that is up but failing so
 * much that the host never reaches the failure-percentage request volume, and is never ejected.
 */
export const GRPC_RETRY_BASE_INTERVAL_MS = 25;
export const GRPC_RETRY_MAX_INTERVAL_MS = 250;

/** `retryOn`: the service's grpcRetryOn from the mesh, when it names its own statuses. */
export function grpcRetryPolicy(retryOn: readonly string[] = [GRPC_RETRY_ON]): RetryPolicy {
  return {
    retry_on: retryOn.join(','),
    num_retries: { value: GRPC_RETRY_ATTEMPTS },
    retry_back_off: {
      base_interval: durationFromMs(GRPC_RETRY_BASE_INTERVAL_MS),
      max_interval: durationFromMs(GRPC_RETRY_MAX_INTERVAL_MS),
    },
  };
}

export function clusterRoute(cluster: string): Route {
  const action: RouteAction = {
    cluster,
    timeout: durationFromMs(ROUTE_TIMEOUT_MS),
    retry_policy: retryPolicy(),
  };
  return { match: { prefix: '/' }, route: action };
}

/** A target's virtual host with every host form (the table may take some away, see routeTableOf). */
export function virtualHostOf(target: RouteTarget): VirtualHost {
  return {
    name: `${serviceHost(target.entry.service)}:${target.port.port}`,
    domains: hostForms(target.entry, target.port),
    routes: target.routes,
  };
}

/**
 * The table from candidate virtual hosts, in order. A host whose domains are all free is used as the very
 * same object (so its encoding is reused); one that lost some domains to an earlier service is copied.
 */
export function routeTableOf(name: string, candidates: readonly VirtualHost[]): RouteTable {
  const taken = new Set<string>();
  const virtualHosts: VirtualHost[] = [];
  for (const candidate of candidates) {
    const domains = (candidate.domains ?? []).filter((domain) => !taken.has(domain));
    if (domains.length === 0) continue;
    for (const domain of domains) taken.add(domain);
    virtualHosts.push(domains.length === candidate.domains?.length ? candidate : { ...candidate, domains });
  }
  return { name, virtual_hosts: virtualHosts, validate_clusters: { value: false } };
}

/**
 * Routes of a service: with a canary, requests matching the header go to the fallback cluster, and
 * `weight`% of the rest too; everything else goes to the stable cluster.
 */
export function serviceRoutes(
  entry: ServiceEntry,
  defaultCluster: string,
  fallbackCluster: string | undefined,
  action: (cluster: string) => Route,
): Route[] {
  const canary = entry.service.canary;
  if (!canary || !fallbackCluster) return [action(defaultCluster)];
  const routes: Route[] = [];
  if (canary.header) {
    const byHeader = action(fallbackCluster);
    const headers = [{ name: canary.header.name, string_match: { exact: canary.header.exact } }];
    routes.push({ ...byHeader, name: 'canary-by-header', match: { ...byHeader.match, headers } });
  }
  if (canary.weight >= 100) routes.push({ ...action(fallbackCluster), name: 'canary-by-weight' });
  else if (canary.weight <= 0) routes.push({ ...action(defaultCluster), name: 'stable' });
  else {
    const base = action(defaultCluster);
    const { cluster: _unused, ...rest } = base.route as RouteAction;
    routes.push({
      name: 'canary-by-weight',
      match: base.match,
      route: {
        ...rest,
        weighted_clusters: {
          clusters: [
            { name: fallbackCluster, weight: { value: canary.weight } },
            { name: defaultCluster, weight: { value: 100 - canary.weight } },
          ],
        },
      },
    });
  }
  return routes;
}
