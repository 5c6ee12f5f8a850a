// `npm run bench:calibrate`: are the load generator's clients a fair stand-in for Envoy? K real Envoy 1.40
// processes and K load-generator clients against the same server (each on a fresh one, one kind after
// the other, the order alternating by repetition), timed by the same recording hop; the table compares
// change → ACK and server CPU per push. See docs/BENCHMARKS.md, "Calibration".
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PeerName, REPO_ROOT, preparePeers } from '../peer-binaries';
import { MeshSize } from '../mesh/generate-mesh';
import { ServerFactory, ServerName, isGoControlPlane } from '../servers/server-under-test';
import { spillwayFactory } from '../servers/spillway-server';
import { goControlPlaneFactory, goControlPlaneSnapshotFactory } from '../servers/go-control-plane-server';
import { istiodFactory } from '../servers/istiod-server';
import { CalibrationKind, CalibrationResult, KIND_LABEL, measureCalibration } from './calibrate-run';
import { CALIBRATE_USAGE, CalibrateOptions, parseCalibrateOptions } from './options';
import { renderCalibration } from './report';
import { sleep } from '../measure/statistics';
import { splitCores } from './pinning';
import { killAllEnvoys } from './envoy-fleet';

const FACTORIES: Partial<Record<ServerName, ServerFactory>> = {
  spillway: spillwayFactory,
  'go-control-plane': goControlPlaneFactory,
  'go-control-plane-snapshot': goControlPlaneSnapshotFactory,
  istiod: istiodFactory,
};

const BETWEEN_RUNS_MS = 15_000;

const started = Date.now();
function progress(line: string): void {
  process.stdout.write(`[calibrate ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);
}

/** MemAvailable from /proc/meminfo (what can be used without swapping), in bytes. */
function availableMemoryBytes(): number {
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return match ? Number(match[1]) * 1024 : os.freemem();
}

/** K: given, or as many Envoys as `memoryShare` of the available memory holds, from one Envoy's private memory on this mesh. */
async function chooseClients(
  options: CalibrateOptions,
  size: MeshSize,
  workRoot: string,
): Promise<{ clients: number; reason: string }> {
  if (options.clients !== undefined) return { clients: options.clients, reason: 'set by --clients' };
  const workDir = fs.mkdtempSync(path.join(workRoot, 'probe-'));
  const probe = await measureCalibration(
    spillwayFactory,
    'envoy',
    { size, clients: 1, flips: 0, workDir, steadyIdleMs: options.steadyIdleMs },
    (line) => progress(`  probe: ${line}`),
  );
  const available = availableMemoryBytes();
  const fits = Math.floor((available * options.memoryShare) / probe.clientMemoryPerClientBytes);
  const clients = Math.max(1, Math.min(options.maxClients, fits));
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  return {
    clients,
    reason:
      `one Envoy's private memory (RssAnon) on this mesh ${(probe.clientMemoryPerClientBytes / 2 ** 20).toFixed(1)} MiB; ${Math.round(options.memoryShare * 100)}% of the ${mib(available)} available ` +
      `holds ${fits}${clients < fits ? `, capped at ${options.maxClients}` : ''}`,
  };
}

async function main(options: CalibrateOptions): Promise<void> {
  const peers = [
    ...new Set(
      options.servers.flatMap((name): PeerName[] =>
        name === 'spillway' ? [] : isGoControlPlane(name) ? ['go-control-plane'] : ['istiod'],
      ),
    ),
  ];
  if (peers.length > 0) preparePeers(peers);
  const size: MeshSize = {
    services: options.services,
    endpointsPerCluster: options.endpointsPerCluster,
    clusters: options.clusters,
  };
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'spillway-calibrate-'));
  const { clients, reason } = await chooseClients(options, size, workRoot);
  progress(`K = ${clients} (${reason})`);
  const pin = options.pin ? splitCores() : undefined;
  if (pin) progress(`pinned: server and hop on core(s) ${pin.server}, clients on ${pin.clients}`);
  const results: CalibrationResult[] = [];
  const errors: string[] = [];
  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const name of options.servers) {
      const factory = FACTORIES[name];
      const unavailable = factory ? factory.unavailable() : 'not wired into the calibration';
      if (!factory || unavailable) {
        if (rep === 0) errors.push(`${name}: not run (${unavailable})`);
        continue;
      }
      const order: CalibrationKind[] = rep % 2 === 0 ? ['envoy', 'load-generator'] : ['load-generator', 'envoy'];
      for (const kind of order) {
        // Let the previous run's processes (hundreds of Envoys) leave the machine before the next starts.
        if (results.length + errors.length > 0) await sleep(BETWEEN_RUNS_MS);
        progress(`${name}, ${clients} × ${KIND_LABEL[kind]} (repetition ${rep + 1})`);
        const workDir = fs.mkdtempSync(path.join(workRoot, `${name}-${kind}-`));
        try {
          results.push(
            await measureCalibration(
              factory,
              kind,
              { size, clients, flips: options.flips, workDir, steadyIdleMs: options.steadyIdleMs, pin },
              (line) => progress(`  ${line}`),
            ),
          );
          fs.rmSync(workDir, { recursive: true, force: true });
        } catch (error) {
          const message = `${name}, ${KIND_LABEL[kind]}, repetition ${rep + 1}: ${error instanceof Error ? error.message : String(error)}`;
          progress(`  FAILED ${message} (logs kept in ${workDir})`);
          errors.push(message.split('\n')[0]);
        }
      }
    }
  }
  const command = `npm run bench:calibrate -- ${process.argv.slice(2).join(' ')}`.trim();
  const placement = pin
    ? `server and hop pinned to core(s) ${pin.server}, clients to ${pin.clients}`
    : 'no CPU pinning';
  const text = renderCalibration({ command, size, clients, clientsReason: reason, placement, results, errors });
  const output = path.resolve(REPO_ROOT, options.output);
  fs.mkdirSync(path.dirname(output), { recursive: true });
  fs.writeFileSync(output, text);
  fs.writeFileSync(
    output.replace(/\.md$/, '') + '.json',
    JSON.stringify({ command, size, clients, reason, placement, results, errors }, null, 2) + '\n',
  );
  process.stdout.write('\n' + text);
  progress(`written to ${path.relative(REPO_ROOT, output)} (raw figures beside it, .json)`);
  if (errors.length === 0) fs.rmSync(workRoot, { recursive: true, force: true });
  if (results.length === 0) process.exitCode = 1;
}

// Ctrl-C or a timeout: the Envoys are spawned, not forked, and would outlive the run.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllEnvoys();
    process.exit(130);
  });
}

let options: CalibrateOptions;
try {
  options = parseCalibrateOptions(process.argv.slice(2));
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(message === CALIBRATE_USAGE ? 0 : 2);
}
main(options).catch((error: unknown) => {
  process.stderr.write(`bench:calibrate: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
