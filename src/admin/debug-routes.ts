// Read-only debug endpoints over the model, the cache and the server's client registry.
import { MeshModel } from '../mesh/model';
import { Spillway } from '../spillway';
import { PUSH_ORDER, shortTypeName } from '../xds/resource-types';
import { AdminHandler, json } from './admin-server';
import { pageHandler } from './page/page';
import { SpillwayMetrics } from '../visibility/metrics';
import { SourceIssue } from '../discovery/source-issue';
import { clientsReport } from './clients-report';

function meshJson(model: MeshModel): unknown {
  return {
    clusters: [...model.clusters.values()],
    services: [...model.services.entries()].map(([host, entry]) => ({ host, ...entry.service, endpoints: entry.endpoints })),
  };
}

export interface DebugSources {
  spillway: Spillway;
  currentModel: () => MeshModel;
  isReady: () => boolean;
  /** Problems of the discovery sources (a rejected mesh file), shown first on /debug/issues. */
  sourceIssues?: () => SourceIssue[];
  metrics: SpillwayMetrics;
}

export function debugRoutes(sources: DebugSources): Map<string, AdminHandler> {
  const { spillway } = sources;
  return new Map<string, AdminHandler>([
    ['/', pageHandler],
    ['/healthz', () => ({ status: 200, contentType: 'text/plain', body: 'ok\n' })],
    ['/readyz', () => (sources.isReady() ? { status: 200, contentType: 'text/plain', body: 'ready\n' } : { status: 503, contentType: 'text/plain', body: 'not ready: waiting for the first full sync of every source\n' })],
    ['/debug/mesh', () => json(meshJson(sources.currentModel()))],
    ['/debug/clients', (url) => clientsReport(spillway.server, url)],
    ['/debug/issues', () => json({ sources: sources.sourceIssues?.() ?? [], views: Object.fromEntries(spillway.issues) })],
    ['/debug/failover', () => json({ generatedAtMs: Date.now(), entries: spillway.tracker.entries() })],
    ['/metrics', async () => ({ status: 200, contentType: sources.metrics.registry.contentType, body: await sources.metrics.text() })],
    [
      '/debug/config',
      (url) => {
        const nodeId = url.searchParams.get('node');
        const client = spillway.server.registry.list().find((c) => c.nodeId === nodeId);
        if (!client) return json({ error: `no connected client with node id "${nodeId}"; see /debug/clients` }, 404);
        const snapshot = spillway.cache.snapshot(client.view);
        const resources: Record<string, unknown[]> = {};
        for (const typeUrl of PUSH_ORDER) {
          resources[shortTypeName(typeUrl)] = [...snapshot.resources(typeUrl).values()].map((r) => ({ name: r.name, version: r.version, resource: r.message }));
        }
        return json({ node: nodeId, view: client.view, resources });
      },
    ],
  ]);
}
