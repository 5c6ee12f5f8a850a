// What the demo prints once everything runs: what to try, how to make east fail, where to watch. Pure text.
import { DemoPlan, DEMO_SERVICE_HOST } from './demo-plan';

export interface RunningBackend {
  description: string;
  pid: number;
}

export interface InstructionsInput {
  plan: DemoPlan;
  /** The client cluster's backends of the demo service, with their pids (the ones to kill). */
  clientBackends: RunningBackend[];
  meshFile: string;
  adminUrl: string;
  sidecarUrl: string;
  sidecarAdminUrl: string;
  /** How to run the CLI from here, e.g. "node dist/src/cli/main.js". */
  cliCommand: string;
  workDir: string;
  /** Key help when keyboard controls are on. */
  keys?: string;
  durationS?: number;
}

/** "west 2, south 1": the remote clusters that take spilled traffic, weighted by their backends. */
export function remoteWeights(plan: DemoPlan): string {
  const service = DEMO_SERVICE_HOST.replace(/\.svc\.cluster\.local$/, '');
  const counts = new Map<string, number>();
  for (const b of plan.backends) {
    if (b.identity.service !== service || b.identity.cluster === plan.client.name) continue;
    counts.set(b.identity.cluster, (counts.get(b.identity.cluster) ?? 0) + 1);
  }
  return [...counts.entries()].map(([cluster, n]) => `${cluster} ${n}`).join(', ');
}

export function formatInstructions(input: InstructionsInput): string {
  const client = input.plan.client.name;
  const curl = `curl -sS -H 'Host: ${DEMO_SERVICE_HOST}'`;
  const pids = input.clientBackends.map((b) => b.pid).join(' ');
  const lines = [
    '',
    `Spillway demo is running: a sidecar in ${client} on ${input.sidecarUrl}, gateways for ${input.plan.gateways.map((g) => g.cluster.name).join(', ')}.`,
    '',
    'Call checkout through the sidecar (the answer names the backend: cluster, version, port):',
    `  ${curl} ${input.sidecarUrl}`,
    `      ${client} answers; about 10% of requests go to the v2 canary`,
    `  ${curl} -H 'x-canary: true' ${input.sidecarUrl}`,
    `      always tries the v2 canary first, and falls back to v1 if it is gone`,
    '',
    `Make ${client} fail, and watch traffic spill to the other clusters' gateways (${remoteWeights(input.plan)}, by ready backends):`,
    `  kill ${pids}`,
    ...input.clientBackends.map((b) => `      pid ${b.pid}: ${b.description}`),
    `  or drain ${client}: in ${input.meshFile} add "ready: false" to ${client}'s endpoints and save (hot-reloaded)`,
    ...(input.keys ? [`  keys: ${input.keys}`] : []),
    '',
    'Watch it:',
    `  admin page      ${input.adminUrl}`,
    `  failover table  ${input.cliCommand} status`,
    `  proxies         ${input.cliCommand} clients`,
    `  sidecar Envoy   ${input.sidecarAdminUrl}/clusters`,
    `  logs            ${input.workDir} (spillway.log, envoy-*.log, backend-*.log)`,
    '',
    input.durationS !== undefined
      ? `Stopping by itself in ${input.durationS}s; Ctrl-C stops everything sooner.`
      : 'Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n');
}
