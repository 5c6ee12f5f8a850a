// Read-only debug endpoints over the model, the cache and the server's client registry. They read only
// the narrow sources below; the composition root passes the control plane's parts.
import { MeshModel } from '../mesh/model';
import type { Snapshot } from '../xds/cache/snapshot';
import type { ViewKey } from '../xds/cache/snapshot-cache';
import type { TranslationIssue } from '../xds/translate/translation-issues';
import type { FailoverEntry } from '../visibility/failover-tracker';
import { PUSH_ORDER, shortTypeName } from '../xds/resource-types';
import { AdminHandler, json } from './admin-server';
import { pageHandler } from './page/page';
import { SpillwayMetrics } from '../visibility/metrics';
import { SourceIssue } from '../discovery/source-issue';
import { XdsClientsSource, clientsReport } from './clients-report';

function meshJson(model: MeshModel): unknown {
  return {
    clusters: [...model.clusters.values()],
    services: [...model.services.entries()].map(([host, entry]) => ({
      host,
      ...entry.service,
      endpoints: entry.endpoints,
    })),
  };
}

export interface DebugSources {
  /** Connected xDS clients (/debug/clients, and /debug/config to find a node's view). */
  xdsClients: XdsClientsSource;
  /** The snapshot a view is served (/debug/config). */
  snapshot: (view: ViewKey) => Snapshot;
  /** Latest translation issues per view (/debug/issues). */
  translationIssues: () => ReadonlyMap<string, readonly TranslationIssue[]>;
  /** Failover state per client cluster, service and subset (/debug/failover). */
  failoverEntries: () => FailoverEntry[];
  currentModel: () => MeshModel;
  isReady: () => boolean;
  /** Problems of the discovery sources (a rejected mesh file), shown first on /debug/issues. */
  sourceIssues?: () => SourceIssue[];
  metrics: Pick<SpillwayMetrics, 'registry' | 'text'>;
}

export function debugRoutes(sources: DebugSources): Map<string, AdminHandler> {
  return new Map<string, AdminHandler>([
    ['/', pageHandler],
    ['/healthz', () => ({ status: 200, contentType: 'text/plain', body: 'ok\n' })],
    [
      '/readyz',
      () =>
        sources.isReady()
          ? { status: 200, contentType: 'text/plain', body: 'ready\n' }
          : {
              status: 503,
              contentType: 'text/plain',
              body: 'not ready: waiting for the first full sync of every source\n',
            },
    ],
    ['/debug/mesh', () => json(meshJson(sources.currentModel()))],
    ['/debug/clients', (url) => clientsReport(sources.xdsClients, url)],
    [
      '/debug/issues',
      () => json({ sources: sources.sourceIssues?.() ?? [], views: Object.fromEntries(sources.translationIssues()) }),
    ],
    ['/debug/failover', () => json({ generatedAtMs: Date.now(), entries: sources.failoverEntries() })],
    [
      '/metrics',
      async () => ({
        status: 200,
        contentType: sources.metrics.registry.contentType,
        body: await sources.metrics.text(),
      }),
    ],
    [
      '/debug/config',
      (url) => {
        const nodeId = url.searchParams.get('node');
        const client = sources.xdsClients.registry.list().find((c) => c.nodeId === nodeId);
        if (!client) return json({ error: `no connected client with node id "${nodeId}"; see /debug/clients` }, 404);
        const snapshot = sources.snapshot(client.view);
        const resources: Record<string, unknown[]> = {};
        for (const typeUrl of PUSH_ORDER) {
          resources[shortTypeName(typeUrl)] = [...snapshot.resources(typeUrl).values()].map((r) => ({
            name: r.name,
            version: r.version,
            resource: r.message,
          }));
        }
        return json({ node: nodeId, view: client.view, resources });
      },
    ],
  ]);
}
