// What istiod does on one endpoint change, from istiod itself: N clients of one kind synced, then each
// change's push metrics by type (pilot_xds_pushes, pilot_xds_push_time, pilot_push_triggers, ...) read from
// its monitoring port before and after, beside the responses and bytes the clients got and istiod's CPU.
// Usage (after `npm run build`; the istiod binary from scripts/bench-peers.sh):
//   node dist/bench/peers/istiod/change-probe.js KIND SERVICES CLIENTS CHANGES   (KIND: envoy | grpc)
//   BENCH_ISTIOD_LOG_LEVEL=ads:debug ... keeps istiod's per-push log in the work directory it prints.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { preparePeers } from '../../peer-binaries';
import { startIstiod } from '../../servers/istiod-server';
import { LoadGenerator } from '../../load/load-generator';
import { flippedService, grpcTargets } from '../../scenario';
import { endpointKey } from '../../mesh/generate-mesh';
import { cpuNs } from '../../measure/proc-stats';
import { sleep } from '../../measure/statistics';

const METRICS =
  /^(pilot_xds_pushes|pilot_push_triggers|pilot_xds_push_time_(sum|count)|pilot_inbound_updates|pilot_proxy_convergence_time_count)[{ ]/;
/** After the last client has the change: time for the other types of the same push to arrive. */
const SETTLE_MS = 2_000;

async function pushMetrics(monitoringAddress: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${monitoringAddress}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!METRICS.test(line)) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

function delta(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .map(([name, value]) => [name, value - (before.get(name) ?? 0)] as const)
    .filter(([, change]) => change !== 0)
    .map(([name, change]) => `${name} ${Number.isInteger(change) ? change : change.toFixed(3)}`)
    .join('\n    ');
}

async function main(): Promise<void> {
  const [kind, services, clients, changes] = [
    process.argv[2],
    Number(process.argv[3]),
    Number(process.argv[4]),
    Number(process.argv[5]),
  ];
  if (
    (kind !== 'envoy' && kind !== 'grpc') ||
    ![services, clients, changes].every((n) => Number.isInteger(n) && n > 0)
  ) {
    throw new Error('usage: change-probe.js envoy|grpc SERVICES CLIENTS CHANGES');
  }
  preparePeers(['istiod'], true);
  const size = { services, endpointsPerCluster: 10, clusters: 3 };
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'istiod-probe-'));
  const load = LoadGenerator.start(clients);
  const server = await startIstiod('istiod', size, workDir);
  const monitoring = server.monitoringAddress;
  try {
    const nodes = Array.from({ length: clients }, (_, i) =>
      kind === 'grpc' ? server.grpcNode('bench', i, grpcTargets(size, i)) : server.node('bench', i),
    );
    const sync = await load.connect('clients', server.xdsAddress, nodes, 'sotw', 600_000);
    process.stdout.write(`${clients} ${kind} clients synced; ${sync.reconnects} streams refused and retried\n`);
    await sleep(SETTLE_MS);
    const notReady = new Set<string>();
    for (let k = 0; k < changes; k++) {
      const service = flippedService(size, k);
      const key = endpointKey(service, 0, 0);
      if (notReady.has(key)) notReady.delete(key);
      else notReady.add(key);
      const before = await pushMetrics(monitoring);
      const statsBefore = await load.stats('clients', load.processCount);
      const { arrivals } = await load.arm('clients', server.edsNameOf(service), 120_000, load.processCount);
      const cpuBefore = cpuNs(server.pid);
      const changedAt = await server.apply(new Set(notReady));
      const arrived = await arrivals;
      const lastMs = Math.max(...arrived.receivedNs.map((ns) => Number(ns - changedAt) / 1e6));
      await sleep(SETTLE_MS);
      const statsAfter = await load.stats('clients', load.processCount);
      process.stdout.write(
        `change ${k} (service ${service}): last client had it after ${lastMs.toFixed(0)} ms; istiod CPU ${((cpuNs(server.pid) - cpuBefore) / 1e6).toFixed(0)} ms ` +
          `(until ${SETTLE_MS} ms after); per client ${((statsAfter.responses - statsBefore.responses) / clients).toFixed(2)} responses, ` +
          `${((statsAfter.bytes - statsBefore.bytes) / clients).toFixed(0)} B\n    ${delta(before, await pushMetrics(monitoring))}\n`,
      );
    }
  } finally {
    load.stop();
    await server.stop();
    process.stdout.write(`istiod's log: ${workDir}/istiod.log\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
