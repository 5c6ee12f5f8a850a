// `npm run bench:profile`: Spillway alone under a large client count, with V8's CPU profiler on, to find
// what dominates. Prints memory split (JS heap, buffers, native) before and after the clients connect, the
// sync time, change → ACK for a few flips, and the functions that took the most self time.
// Usage: npm run bench:profile -- [--services 100] [--clients 10000] [--flips 3] [--mode sotw|delta] [--grpc | --scoped]
//   [--phase all|storm|pushes]   (what the CPU profile covers: everything, the storm only, or the pushes only)
//   [--heap-snapshot]            (also write a V8 heap snapshot once the clients are synced)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchNode, ClientKind, StreamMode } from './load/protocol';
import { LoadGenerator } from './load/load-generator';
import { endpointKey } from './mesh/generate-mesh';
import { cpuSeconds, rssBytes } from './measure/proc-stats';
import { max, percentile, sleep } from './measure/statistics';
import { flippedService, grpcTargets } from './scenario';
import { startSpillway } from './servers/spillway-server';
import { topSelfTime } from './measure/cpu-profile';
import { FlagSpec, parseFlags } from '../src/flags/flags';

interface ProfileOptions {
  services: number;
  clients: number;
  flips: number;
  mode: StreamMode;
  kind: ClientKind;
  phase: 'all' | 'storm' | 'pushes';
  heapSnapshot: boolean;
}

const PROFILE_FLAGS: FlagSpec[] = [
  ...['heap-snapshot', 'grpc', 'scoped'].map((name): FlagSpec => ({ name, switch: true, help: '' })),
  ...['services', 'clients', 'flips', 'mode', 'phase'].map((name): FlagSpec => ({ name, value: 'VALUE', help: '' })),
];

function parse(argv: readonly string[]): ProfileOptions {
  const options: ProfileOptions = {
    services: 100,
    clients: 10_000,
    flips: 3,
    mode: 'sotw',
    kind: 'envoy',
    phase: 'all',
    heapSnapshot: false,
  };
  const parsed = parseFlags(argv, PROFILE_FLAGS);
  if (!parsed.ok) throw new Error(parsed.error);
  const flag = (name: string): string | undefined => parsed.flags.get(name);
  options.heapSnapshot = parsed.flags.has('heap-snapshot');
  if (parsed.flags.has('grpc')) options.kind = 'grpc';
  if (parsed.flags.has('scoped')) options.kind = 'scoped';
  const number = (name: string, fallback: number): number => (flag(name) === undefined ? fallback : Number(flag(name)));
  options.services = number('services', options.services);
  options.clients = number('clients', options.clients);
  options.flips = number('flips', options.flips);
  const mode = flag('mode');
  if (mode !== undefined) {
    if (mode !== 'sotw' && mode !== 'delta') throw new Error(`unknown option --mode ${mode}`);
    options.mode = mode;
  }
  const phase = flag('phase');
  if (phase !== undefined) {
    if (phase !== 'all' && phase !== 'storm' && phase !== 'pushes') throw new Error(`unknown option --phase ${phase}`);
    options.phase = phase;
  }
  return options;
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const nsToMs = (ns: bigint) => Number(ns) / 1e6;

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const size = {
    services: options.services,
    endpointsPerCluster: 10,
    clusters: 3,
    ...(options.kind === 'scoped' ? { callsPerWorkload: 10 } : {}),
  };
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spillway-profile-'));
  const log = (line: string) => process.stdout.write(`[profile] ${line}\n`);
  log(
    `${options.clients} ${options.kind}-like clients (${options.mode}), ${size.services} services x 10 x 3; output in ${workDir}`,
  );
  const load = LoadGenerator.start(options.clients);
  const server = await startSpillway(
    size,
    workDir,
    options.phase === 'all' ? ['--cpu-prof', `--cpu-prof-dir=${workDir}`] : [],
  );
  const phaseProfile = path.join(workDir, `${options.phase}.cpuprofile`);
  try {
    const nodeOf = (group: string, i: number): BenchNode =>
      options.kind === 'grpc'
        ? server.grpcNode(group, i, grpcTargets(size, i))
        : options.kind === 'scoped'
          ? server.scopedNode(group, i)
          : server.node(group, i);
    await load.connect('anchors', server.xdsAddress, server.anchorNodes(), options.mode, 60_000);
    await sleep(500);
    const before = { rss: rssBytes(server.pid), usage: await server.memory() };
    const nodes = Array.from({ length: options.clients }, (_, i) => nodeOf('bench', i));
    const cpuBefore = { server: cpuSeconds([server.pid]), load: cpuSeconds(load.pids) };
    if (options.phase === 'storm') await server.startProfile();
    const sync = await load.connect('clients', server.xdsAddress, nodes, options.mode, 600_000);
    if (options.phase === 'storm') await server.stopProfile(phaseProfile);
    log(
      `synced in ${max(sync.syncMs).toFixed(0)} ms (p50 ${percentile(sync.syncMs, 50).toFixed(0)} ms), ${sync.reconnects} refused and retried`,
    );
    // On a small machine the clients compete with the server for cores: show who used them.
    log(
      `CPU during the sync: server ${(cpuSeconds([server.pid]) - cpuBefore.server).toFixed(1)} s, load generators ${(cpuSeconds(load.pids) - cpuBefore.load).toFixed(1)} s (${os.cpus().length} cores)`,
    );
    await sleep(2_000);
    const after = { rss: rssBytes(server.pid), usage: await server.memory() };
    const perClient = (a: number, b: number) => `${((a - b) / options.clients / 1024).toFixed(1)} KiB/client`;
    log(`rss ${mib(before.rss)} -> ${mib(after.rss)} (${perClient(after.rss, before.rss)})`);
    for (const key of ['heapUsed', 'heapTotal', 'external', 'arrayBuffers'] as const) {
      log(
        `${key} ${mib(before.usage[key])} -> ${mib(after.usage[key])} (${perClient(after.usage[key], before.usage[key])})`,
      );
    }
    if (options.heapSnapshot) {
      const file = path.join(workDir, 'with-clients.heapsnapshot');
      await server.heapSnapshot(file);
      log(`heap snapshot with the clients: ${file}`);
    }
    const active = Math.min(load.processCount, options.clients);
    const notReady = new Set<string>();
    if (options.phase === 'pushes') await server.startProfile();
    for (let k = 0; k < options.flips; k++) {
      const service = flippedService(size, k);
      const key = endpointKey(service, 0, 0);
      if (notReady.has(key)) notReady.delete(key);
      else notReady.add(key);
      const { arrivals } = await load.arm('clients', server.edsNameOf(service), 120_000, active);
      const changedAt = await server.apply(new Set(notReady));
      const arrived = await arrivals;
      const acks = arrived.ackedNs.map((ns) => nsToMs(ns - changedAt));
      log(
        `flip ${k + 1}: change → ACKed p50 ${percentile(acks, 50).toFixed(0)} ms, p99 ${percentile(acks, 99).toFixed(0)} ms, max ${max(acks).toFixed(0)} ms`,
      );
      await sleep(300);
    }
    if (options.phase === 'pushes') await server.stopProfile(phaseProfile);
  } finally {
    load.stop();
    await server.stop(60_000);
  }
  const profile = fs.readdirSync(workDir).find((name) => name.endsWith('.cpuprofile'));
  if (!profile) {
    log('no CPU profile was written (the server did not exit cleanly)');
    return;
  }
  log(`CPU profile: ${path.join(workDir, profile)} (open in Chrome DevTools); top self time:`);
  for (const line of topSelfTime(path.join(workDir, profile), 25)) log(`  ${line}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
