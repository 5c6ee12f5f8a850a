// /debug/clients: connected xDS clients for the live page (polled every second) and `spillway clients`.
// Bounded: at most `limit` entries (NACKing clients first), each holding only bounded client text
// (src/xds/server/client-limits.ts), with the total so a reader can say "showing N of M".
import type { XdsServer } from '../xds/server/xds-server';
import { AdminResponse, json } from './admin-server';

/** Entries per answer unless `?limit=N` says otherwise: a page of 10,000 rows helps nobody. */
export const DEFAULT_CLIENTS_LIMIT = 500;

/** What the report reads of the xDS server: its client registry and the subscribed-name budget. */
export type XdsClientsSource = Pick<XdsServer, 'registry' | 'nameBudget'>;

export function clientsReport(server: XdsClientsSource, url: URL): AdminResponse {
  const text = url.searchParams.get('limit');
  const limit = text === null ? DEFAULT_CLIENTS_LIMIT : Number(text);
  if (!Number.isInteger(limit) || limit < 0)
    return json(
      { error: `limit "${text?.slice(0, 32)}" is not a whole number >= 0 (default ${DEFAULT_CLIENTS_LIMIT})` },
      400,
    );
  const registry = server.registry;
  return json({
    totals: {
      ...registry.totals,
      subscribedNameBytes: server.nameBudget.bytes,
      subscribedNameSets: server.nameBudget.distinctSets,
    },
    total: registry.size,
    limit,
    clients: registry.firstClients(limit),
  });
}
