// Drill routes: GET /debug/drill (the active drill and the last outcomes), POST /debug/drill/start
// {"failure":"east/checkout.shop","durationS":120} and POST /debug/drill/stop. The POSTs go through
// admin-post.ts (token or loopback, JSON, bounded body).
import type { DrillManager } from '../drill/drill-manager';
import { AdminPostHandler } from './admin-post';
import { AdminHandler, json } from './admin-server';

function startRequest(body: unknown): { failure: string; durationMs: number } | string {
  if (typeof body !== 'object' || body === null) return 'send {"failure": "CLUSTER[/SERVICE]", "durationS": N}';
  const { failure, durationS } = body as Record<string, unknown>;
  if (typeof failure !== 'string') return '"failure" must be a string: CLUSTER or CLUSTER/SERVICE';
  if (typeof durationS !== 'number') return '"durationS" must be a number of seconds';
  return { failure, durationMs: durationS * 1000 };
}

export function drillStatusHandler(drills: Pick<DrillManager, 'status'>): AdminHandler {
  return () => json({ generatedAtMs: Date.now(), ...drills.status() });
}

export function drillPostHandlers(drills: Pick<DrillManager, 'start' | 'stop'>): Map<string, AdminPostHandler> {
  return new Map<string, AdminPostHandler>([
    [
      '/debug/drill/start',
      async (body, caller) => {
        const request = startRequest(body);
        if (typeof request === 'string') return json({ error: request }, 400);
        const started = await drills.start({ ...request, by: `${caller.peer}${caller.withToken ? ' (token)' : ''}` });
        return started.ok
          ? json({ drill: started.drill, prediction: started.prediction })
          : json({ error: started.error }, started.status);
      },
    ],
    [
      '/debug/drill/stop',
      (_body, caller) =>
        drills.stop(caller.peer) ? json({ stopped: true }) : json({ error: 'no drill is running' }, 409),
    ],
  ]);
}
