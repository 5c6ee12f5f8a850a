// Property: what-if for a failure equals what the translator serves once that failure really happens.
// Over generated meshes (clusters with and without gateways, two regions, exported or not, the region
// ladder, canaries in both orders, endpoints already not ready), a failure is predicted on the mesh as
// written; then the same mesh is written again with the failed endpoints not ready (how a real failure
// arrives), a Spillway serves it, and the EDS it serves to a sidecar of every cluster must route exactly
// as predicted. A drill (the same failure laid over the original mesh) must serve the very same EDS.
import pino from 'pino';
import * as YAML from 'yaml';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { MeshModel } from '../../src/mesh/model';
import { MeshStore } from '../../src/mesh/store';
import { Failure } from '../../src/predict/failure';
import { firstShares, viewRouting } from '../../src/predict/served-routing';
import { WhatIfReport, whatIfSteps } from '../../src/predict/what-if';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { runToEnd } from '../../src/xds/steps';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { ViewKey } from '../../src/xds/node/view-key';

const logger = pino({ level: 'silent' });
const CASES = 150;

/** mulberry32: small, seeded, so a failing case can be replayed by its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface GeneratedEndpoint {
  cluster: string;
  address: string;
  port: number;
  ready: boolean;
  labels: Record<string, string>;
  zone?: string;
}

interface GeneratedService {
  name: string;
  doc: Record<string, unknown>;
  endpoints: GeneratedEndpoint[];
}

interface Generated {
  clusters: Record<string, unknown>[];
  services: GeneratedService[];
  failures: Failure[];
}

function generate(seed: number): Generated {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
  const clusterCount = 2 + Math.floor(rnd() * 3);
  const names = ['east', 'west', 'south', 'north'].slice(0, clusterCount);
  const clusters = names.map((name, i) => ({
    name,
    region: pick(['r1', 'r2']),
    zone: `z${i}`,
    ...(rnd() < 0.85 ? { gateway: `10.9.${i}.1:15443` } : {}),
  }));
  let address = 0;
  const services: GeneratedService[] = [];
  for (let s = 0; s < 1 + Math.floor(rnd() * 3); s++) {
    const canary = rnd() < 0.4;
    const endpoints: GeneratedEndpoint[] = [];
    for (let e = 0; e < Math.floor(rnd() * 7); e++) {
      address++;
      endpoints.push({
        cluster: pick(names),
        address: `10.0.${Math.floor(address / 250)}.${address % 250}`,
        port: 8080,
        ready: rnd() < 0.8,
        labels: canary || rnd() < 0.3 ? { version: pick(['v1', 'v1', 'v2']) } : {},
        ...(rnd() < 0.2 ? { zone: pick(['za', 'zb']) } : {}),
      });
    }
    const doc: Record<string, unknown> = {
      name: `svc${s}`,
      namespace: 'ns',
      ports: [{ name: 'http', port: 8080 }],
      export: rnd() < 0.75,
      failover: pick(['cluster', 'region']),
    };
    if (canary)
      doc.canary = { stable: 'v1', canary: 'v2', weight: 10, order: pick(['version-first', 'locality-first']) };
    services.push({ name: `svc${s}`, doc, endpoints });
  }
  const failures: Failure[] = [];
  for (let f = 0; f < 1 + Math.floor(rnd() * 2); f++) {
    const cluster = pick(names);
    const withEndpoints = services.filter((svc) => svc.endpoints.some((e) => e.cluster === cluster));
    if (withEndpoints.length > 0 && rnd() < 0.4)
      failures.push({ cluster, service: `${pick(withEndpoints).name}.ns.svc.cluster.local` });
    else failures.push({ cluster });
  }
  return { clusters, services, failures };
}

function hit(failures: readonly Failure[], service: string, cluster: string): boolean {
  return failures.some(
    (f) => f.cluster === cluster && (f.service === undefined || f.service === `${service}.ns.svc.cluster.local`),
  );
}

/** The mesh file as written; with `failures`, the failed endpoints written not ready (a real failure). */
function meshText(generated: Generated, failures: readonly Failure[] = []): string {
  return YAML.stringify({
    clusters: generated.clusters,
    services: generated.services.map((svc) => ({
      ...svc.doc,
      endpoints: svc.endpoints.map((e) => ({ ...e, ready: e.ready && !hit(failures, svc.name, e.cluster) })),
    })),
  });
}

function parse(text: string): MeshModel {
  const parsed = parseMeshText(text);
  if (!parsed.ok) throw new Error(`generated mesh is invalid: ${JSON.stringify(parsed.errors)}\n${text}`);
  return parsed.model;
}

/** A Spillway serving `model` (optionally with a drill's failures laid over it); not listening. */
function serving(model: MeshModel, overlay: Failure[] = []): ControlPlane {
  const store = new MeshStore();
  store.setShard('file', model);
  store.flush();
  const spillway = new ControlPlane({ store, logger, xdsAddress: '127.0.0.1:0' });
  spillway.overlay.set(overlay);
  return spillway;
}

function sidecarKey(cluster: string): ViewKey {
  return ViewKey.of({ clusterId: cluster, role: 'sidecar', outboundAddress: '127.0.0.1', outboundPort: 15001 });
}

function servedEds(spillway: ControlPlane, cluster: string): Map<string, unknown> {
  const snapshot = spillway.cache.snapshot(sidecarKey(cluster));
  return new Map([...snapshot.resources(ENDPOINT_TYPE).values()].map((r) => [r.name, r.message]));
}

describe('what-if equals what the translator serves once the failure happens (generated meshes)', () => {
  test(`${CASES} meshes: predicted routes = served EDS after a real failure = served EDS during a drill`, () => {
    let routesCompared = 0;
    let deadEnds = 0;
    let moved = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const generated = generate(seed);
      const model = parse(meshText(generated));
      const report: WhatIfReport = runToEnd(whatIfSteps(model, generated.failures));
      const realFailure = serving(parse(meshText(generated, generated.failures)));
      const drill = serving(model, generated.failures);
      for (const cluster of model.clusters.keys()) {
        const real = realFailure.cache.snapshot(sidecarKey(cluster));
        const servedRouting = viewRouting([
          ...real.resources(ENDPOINT_TYPE).values(),
          ...real.resources(CLUSTER_TYPE).values(),
        ]);
        for (const route of report.routes.filter((r) => r.clientCluster === cluster)) {
          const name = `outbound|${route.port}|${route.subset}|${route.service}`;
          const served = servedRouting.byName.get(name);
          const context = `seed ${seed}, client ${cluster}, ${name}, failures ${JSON.stringify(generated.failures)}`;
          expect({ context, shares: route.after }).toEqual({ context, shares: firstShares(served) });
          expect({ context, then: route.thenAfter }).toEqual({
            context,
            then: (served?.priorities ?? []).slice(1).map((p) => Object.keys(p.weights).sort()),
          });
          routesCompared++;
          if (route.deadEnd) deadEnds++;
          if (JSON.stringify(route.before) !== JSON.stringify(route.after)) moved++;
        }
        // The drill serves exactly what the real failure serves, resource for resource.
        expect({ seed, cluster, eds: servedEds(drill, cluster) }).toEqual({
          seed,
          cluster,
          eds: servedEds(realFailure, cluster),
        });
      }
    }
    // The generator must produce interesting cases, not only "nothing moves".
    expect(routesCompared).toBeGreaterThan(300);
    expect(moved).toBeGreaterThan(50);
    expect(deadEnds).toBeGreaterThan(5);
  });
});
