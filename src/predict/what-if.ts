// What-if: for every client cluster, service port and subset a failure touches, where traffic would go
// and whether the receiving clusters can take it. The failure is applied to the model (failure.ts), the
// real translator builds each client cluster's view of that model, and the routing is read from the EDS
// and CDS it produced (served-routing.ts): the same decisions a real failure would get. The load fit
// adds what load reports measured (requests per second per receiving cluster today).
import { MeshModel, ServiceEntry, serviceHost } from '../mesh/model';
import { sortedServices } from '../mesh/rules';
import { LOAD_WINDOW_MS, LoadReportStore } from '../lrs/load-report-store';
import { belongsTo } from '../visibility/failover-tracker';
import { ViewKey } from '../xds/node/view-key';
import { readyCount } from '../xds/translate/endpoint-builder';
import { outboundClusterName } from '../xds/translate/names';
import { ResourceCollector, ResourceEncoder } from '../xds/translate/resource-collector';
import { ServiceParts } from '../xds/translate/service-parts';
import { viewSteps } from '../xds/translate/translator';
import { Steps } from '../xds/steps';
import { Failure, applyFailures, describeFailure, isAffected } from './failure';
import { ServedRouting, ViewRouting, fallbackOf, firstShares, viewRouting } from './served-routing';

/** A receiving cluster flagged as overloaded when it would get at least this many times today's load. */
export const OVERLOAD_FACTOR = 2;

export interface WhatIfRoute {
  clientCluster: string;
  service: string;
  port: number;
  /** '' for the whole service. */
  subset: string;
  /** Shares of the first priority today and after the failure. */
  before: Record<string, number>;
  after: Record<string, number>;
  /** Clusters of each later priority after the failure (where traffic goes if those fail too). */
  thenAfter: string[][];
  /** For a canary subset left empty: the subset its aggregate falls back to (canary order). */
  fallsBackTo?: string;
  /** Nowhere to go after the failure: why, in words. */
  deadEnd?: string;
  /** Measured requests per second of this client cluster to this subset (load reports), if any. */
  requestsPerSecond?: number;
}

export interface WhatIfFit {
  service: string;
  port: number;
  cluster: string;
  readyEndpoints: number;
  todayRps: number;
  predictedRps: number;
  /** predicted / today; absent when nothing is measured today. */
  factor?: number;
  overload?: string;
}

export interface WhatIfReport {
  failures: string[];
  generatedAtMs: number;
  /** Window the request rates were measured over. */
  loadWindowMs: number;
  routes: WhatIfRoute[];
  fit: WhatIfFit[];
  /** Overloads and dead ends, one sentence each. */
  warnings: string[];
}

/** The view a sidecar of `cluster` gets (listener address and port do not change routing). */
function sidecarViewKey(cluster: string): ViewKey {
  return ViewKey.of({ clusterId: cluster, role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 });
}

const NO_BYTES = new Uint8Array(0);
/** What-if reads the messages the translator built; encoding them for the wire would only cost time. */
const keepMessages: ResourceEncoder = (typeUrl, name, message, options) => ({
  typeUrl,
  name,
  message,
  version: '',
  sotwField: NO_BYTES,
  deltaField: NO_BYTES,
  inWildcard: options?.inWildcard ?? true,
});

function* routingSteps(model: MeshModel, cluster: string, parts: ServiceParts): Steps<ViewRouting> {
  const translation = yield* viewSteps(model, sidecarViewKey(cluster), new ResourceCollector(keepMessages), parts);
  return viewRouting(translation.resources);
}

/** EDS names of one service port, in either view, sorted. */
function namesOf(views: readonly ViewRouting[], host: string, port: number): string[] {
  const names = new Set<string>();
  for (const view of views)
    for (const routing of view.byHost.get(host) ?? []) if (routing.port === port) names.add(routing.edsName);
  return [...names].sort();
}

function shortHost(host: string): string {
  return host.replace(/\.svc\.cluster\.local$/, '');
}

function deadEndReason(entry: ServiceEntry, clientCluster: string, subset: string): string {
  const what = subset ? `${shortHost(serviceHost(entry.service))} (${subset})` : shortHost(serviceHost(entry.service));
  const why = entry.service.exported
    ? 'no other cluster exports it with ready endpoints'
    : 'it is not exported, so no other cluster serves it';
  return `${what}: ${why} — calls from ${clientCluster} fail`;
}

function routeOf(
  clientCluster: string,
  entry: ServiceEntry,
  before: ServedRouting | undefined,
  afterView: ViewRouting,
  edsName: string,
  failed: MeshModel,
): WhatIfRoute {
  const after = afterView.byName.get(edsName);
  const parsed = { port: after?.port ?? before?.port ?? 0, subset: after?.subset ?? before?.subset ?? '' };
  const route: WhatIfRoute = {
    clientCluster,
    service: serviceHost(entry.service),
    port: parsed.port,
    subset: parsed.subset,
    before: firstShares(before),
    after: firstShares(after),
    thenAfter: (after?.priorities ?? []).slice(1).map((p) => Object.keys(p.weights).sort()),
  };
  if ((after?.priorities.length ?? 0) === 0 && (before?.priorities.length ?? 0) > 0) {
    const fallback = fallbackOf(afterView, edsName);
    if (fallback) route.fallsBackTo = fallback.subset || 'all';
    else route.deadEnd = deadEndReason(failed.services.get(route.service) ?? entry, clientCluster, parsed.subset);
  }
  return route;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Adds measured rates to the routes and sums them per (service, port, receiving cluster). */
function loadFit(
  routes: WhatIfRoute[],
  loads: LoadReportStore | undefined,
  failed: MeshModel,
  windowMs: number,
): WhatIfFit[] {
  const perSecond = 1000 / windowMs;
  const fits = new Map<string, WhatIfFit>();
  const fitOf = (service: string, port: number, cluster: string): WhatIfFit => {
    const key = `${service}|${port}|${cluster}`;
    let fit = fits.get(key);
    if (!fit) {
      const entry = failed.services.get(service);
      const servicePort = entry?.service.ports.find((p) => p.port === port);
      const ready = entry && servicePort ? readyCount({ entry, port: servicePort }, cluster) : 0;
      fit = { service, port, cluster, readyEndpoints: ready, todayRps: 0, predictedRps: 0 };
      fits.set(key, fit);
    }
    return fit;
  };
  for (const route of routes) {
    if (!loads) continue;
    const name = outboundClusterName(route.port, route.service, route.subset);
    if (!loads.hasLoad(route.clientCluster, belongsTo(name, route.subset))) continue;
    const measured = loads.measure(route.clientCluster, belongsTo(name, route.subset));
    const served = Object.values(measured.byTarget).reduce((a, b) => a + b, 0);
    if (served === 0) continue;
    route.requestsPerSecond = round(served * perSecond);
    for (const [cluster, count] of Object.entries(measured.byTarget))
      fitOf(route.service, route.port, cluster).todayRps += count * perSecond;
    for (const [cluster, share] of Object.entries(route.after))
      fitOf(route.service, route.port, cluster).predictedRps += served * perSecond * share;
  }
  const result = [...fits.values()].sort(
    (a, b) => a.service.localeCompare(b.service) || a.port - b.port || a.cluster.localeCompare(b.cluster),
  );
  for (const fit of result) {
    fit.todayRps = round(fit.todayRps);
    fit.predictedRps = round(fit.predictedRps);
    if (fit.todayRps > 0) fit.factor = round(fit.predictedRps / fit.todayRps);
    const endpoints = `${fit.readyEndpoints} endpoint${fit.readyEndpoints === 1 ? '' : 's'}`;
    if (fit.factor !== undefined && fit.factor >= OVERLOAD_FACTOR) {
      fit.overload = `${fit.cluster} would receive ${fit.factor.toFixed(1)}x its current load of ${shortHost(fit.service)}:${fit.port} on ${endpoints} (${fit.predictedRps} req/s, today ${fit.todayRps})`;
    } else if (fit.todayRps === 0 && fit.predictedRps > 0) {
      fit.overload = `${fit.cluster} would receive ${fit.predictedRps} req/s of ${shortHost(fit.service)}:${fit.port} on ${endpoints}, none today`;
    }
  }
  return result;
}

/**
 * The what-if report as steps (one per translated service), so a big mesh is predicted a slice at a time.
 * Only services with endpoints in a failed cluster get routes: the others route exactly as today.
 */
export function* whatIfSteps(
  fullModel: MeshModel,
  failures: readonly Failure[],
  loads?: LoadReportStore,
  now: () => number = Date.now,
): Steps<WhatIfReport> {
  const affected = sortedServices(fullModel).filter((entry) => isAffected(entry, failures));
  // A service's clusters and endpoints depend only on it, the mesh's clusters and the view's scope
  // (service-parts.ts), so translating the affected services alone gives exactly their part of each view.
  const model: MeshModel = {
    clusters: fullModel.clusters,
    services: new Map(affected.map((entry) => [serviceHost(entry.service), entry])),
  };
  const failed = applyFailures(model, failures);
  const parts = new ServiceParts();
  const routes: WhatIfRoute[] = [];
  for (const clientCluster of [...model.clusters.keys()].sort()) {
    const before = yield* routingSteps(model, clientCluster, parts);
    const after = yield* routingSteps(failed, clientCluster, parts);
    for (const entry of affected) {
      const host = serviceHost(entry.service);
      for (const port of entry.service.ports) {
        for (const edsName of namesOf([before, after], host, port.port)) {
          routes.push(routeOf(clientCluster, entry, before.byName.get(edsName), after, edsName, failed));
        }
      }
    }
  }
  const fit = loadFit(routes, loads, failed, LOAD_WINDOW_MS);
  const warnings = [
    ...fit.flatMap((f) => (f.overload ? [f.overload] : [])),
    ...routes.flatMap((r) => (r.deadEnd ? [r.deadEnd] : [])),
  ];
  return {
    failures: failures.map(describeFailure),
    generatedAtMs: now(),
    loadWindowMs: LOAD_WINDOW_MS,
    routes,
    fit,
    warnings,
  };
}
