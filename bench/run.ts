// `npm run bench`: Spillway side by side with go-control-plane and istiod on generated meshes, all in
// the same run, then docs/BENCHMARKS.md rewritten below its hand-written intro. See docs/BENCHMARKS.md
// (Method) for what is measured and how.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchOptions, clientSets, parseOptions } from './options';
import { ClientKind, isMtlsKind } from './load/protocol';
import { PeerName, REPO_ROOT, preparePeers } from './peer-binaries';
import { RunResult, measureRun } from './scenario';
import {
  REFERENCE_ONLY,
  ServerFactory,
  ServerName,
  isGoControlPlane,
  unsupportedKind,
} from './servers/server-under-test';
import { spillwayFactory } from './servers/spillway-server';
import { goControlPlaneFactory, goControlPlaneSnapshotFactory } from './servers/go-control-plane-server';
import { istiodDefaultFactory, istiodFactory } from './servers/istiod-server';
import { machineFacts } from './report/machine';
import { Cell, figuresOf } from './report/summary';
import { existingIntro, renderReport } from './report/markdown';
import { renderPlot } from './report/plot';

const FACTORIES: Record<ServerName, ServerFactory> = {
  spillway: spillwayFactory,
  'go-control-plane': goControlPlaneFactory,
  'go-control-plane-snapshot': goControlPlaneSnapshotFactory,
  istiod: istiodFactory,
  'istiod-default': istiodDefaultFactory,
};

/** What one server may use: most of the machine, leaving room for the load generators and the system. */
const SERVER_MEMORY_BUDGET_BYTES = os.totalmem() * 0.6;

const KIND_TEXT: Record<ClientKind, string> = {
  envoy: 'Envoy-like',
  grpc: 'gRPC-like',
  'mtls-pods': 'mTLS workload sidecars, each a pod of its own',
  'mtls-shared': 'mTLS workload sidecars sharing one view',
  scoped: 'scoped sidecars (each holds only the services its workload calls)',
};

const started = Date.now();
function progress(line: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[bench ${seconds}s] ${line}\n`);
}

/** Rotates the server order by repetition, so no server always runs first (or last) in a round. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const shift = by % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * Why a server should not be run with `clients` clients: its RSS projected from a run with fewer clients
 * (same mesh, same kind) would not fit in the memory this machine can give it. Undefined when it fits.
 */
function projectedMemory(
  results: Map<string, RunResult[]>,
  keyOf: (clients: number) => string,
  counts: number[],
  clients: number,
): string | undefined {
  const smaller = counts.filter((n) => n < clients && (results.get(keyOf(n)) ?? []).length > 0);
  if (smaller.length === 0) return undefined;
  const from = Math.max(...smaller);
  const runs = results.get(keyOf(from)) as RunResult[];
  const perClient = Math.max(...runs.map((r) => r.rssPerClientBytes));
  const baseline = Math.max(...runs.map((r) => r.rssBaselineBytes));
  const projected = baseline + perClient * clients;
  if (projected <= SERVER_MEMORY_BUDGET_BYTES) return undefined;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return `${clients} clients would need about ${gib(projected)} (${(perClient / 1024).toFixed(0)} KiB per client at ${from} clients), more than the ${gib(SERVER_MEMORY_BUDGET_BYTES)} this machine can give one server`;
}

async function main(options: BenchOptions): Promise<void> {
  // Spillway alone (say --workload pods) needs no peer: never start their builds for nothing.
  const peers = [
    ...new Set(
      options.servers.flatMap((name): PeerName[] =>
        name === 'spillway' ? [] : isGoControlPlane(name) ? ['go-control-plane'] : ['istiod'],
      ),
    ),
  ];
  if (peers.length > 0) {
    progress('checking the peers (scripts/bench-peers.sh builds what is missing)');
    preparePeers(peers, options.cachedPeersOnly);
  }
  const skipped = new Map<ServerName, string>();
  const factories: ServerFactory[] = [];
  for (const name of options.servers) {
    const factory = FACTORIES[name];
    const reason = factory.unavailable();
    if (reason) {
      skipped.set(name, reason);
      progress(`${name}: skipped (${reason})`);
    } else factories.push(factory);
  }
  const machine = machineFacts();
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'spillway-bench-'));
  const results = new Map<string, RunResult[]>();
  const errors = new Map<string, string[]>();
  const key = (services: number, clients: number, kind: string, server: string) =>
    `${services}|${clients}|${kind}|${server}`;
  let runIndex = 0;
  const sets = clientSets(options);
  const totalRuns = options.repetitions * options.services.length * sets.length * factories.length;
  let spillwayFailed = false;

  // SIGTERM (or Ctrl-C) ends the run early but still writes what was measured, marked as interrupted.
  let written = false;
  const writeReport = (interruptedAfter?: number): void => {
    if (written) return;
    written = true;
    const cells: Cell[] = [];
    for (const services of options.services) {
      for (const { clients, kind } of sets) {
        const allCounts = sets.filter((s) => s.kind === kind).map((s) => s.clients);
        const figures = factories.flatMap((factory) => {
          const sameSize = allCounts.flatMap((n) => results.get(key(services, n, kind, factory.name)) ?? []);
          return figuresOf(factory.name, results.get(key(services, clients, kind, factory.name)) ?? [], sameSize) ?? [];
        });
        cells.push({ services, clients, kind, figures, errors: errors.get(key(services, clients, kind, 'all')) ?? [] });
      }
    }
    const output = path.resolve(REPO_ROOT, options.output);
    const interrupted = interruptedAfter === undefined ? undefined : { completedRuns: interruptedAfter, totalRuns };
    const text = renderReport(
      { options, machine, cells, skipped, elapsedMs: Date.now() - started, ...(interrupted ? { interrupted } : {}) },
      existingIntro(output),
    );
    fs.mkdirSync(path.dirname(output), { recursive: true });
    fs.writeFileSync(output, text);
    const plot = path.resolve(REPO_ROOT, options.plot);
    fs.mkdirSync(path.dirname(plot), { recursive: true });
    fs.writeFileSync(
      plot,
      renderPlot(
        cells,
        factories.map((f) => f.name),
      ),
    );
    if ([...errors.values()].every((list) => list.length === 0)) fs.rmSync(workRoot, { recursive: true, force: true });
    const summaryStart = text.indexOf('### Spillway / peer');
    process.stdout.write('\n' + text.slice(summaryStart, text.indexOf('\n### ', summaryStart + 5)) + '\n');
    progress(`report written to ${path.relative(REPO_ROOT, output)}, plot to ${path.relative(REPO_ROOT, plot)}`);
  };
  const onSignal = (): void => {
    progress(`interrupted after ${runIndex - 1} of ${totalRuns} runs: writing the report of what was measured`);
    writeReport(runIndex - 1);
    process.exit(130);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const services of options.services) {
      for (const { clients, kind } of clientSets(options, rep)) {
        for (const factory of rotated(factories, rep)) {
          runIndex++;
          const notHere = unsupportedKind(factory.name, kind);
          if (notHere) {
            if (rep === 0)
              progress(
                `run ${runIndex}/${totalRuns}: ${factory.name}, ${clients} ${KIND_TEXT[kind]}: not run (${notHere})`,
              );
            continue;
          }
          const label = `run ${runIndex}/${totalRuns}: ${factory.name}, ${services} services, ${clients} ${KIND_TEXT[kind]} (repetition ${rep + 1})`;
          // A reference configuration is shown for comparison, not used for ratios: its smallest N says enough,
          // and at large N it would take most of the run (see REFERENCE_ONLY).
          const smallest = Math.min(...sets.filter((s) => s.kind === kind).map((s) => s.clients));
          if (REFERENCE_ONLY.has(factory.name) && clients > smallest) {
            const reason = `a reference configuration, measured at ${smallest} clients only`;
            if (rep === 0) progress(`${label}: not run (${reason})`);
            const list = errors.get(key(services, clients, kind, 'all')) ?? [];
            if (!list.some((m) => m.startsWith(`${factory.name}: not run`)))
              list.push(`${factory.name}: not run: ${reason}`);
            errors.set(key(services, clients, kind, 'all'), list);
            continue;
          }
          const tooBig = projectedMemory(
            results,
            (n) => key(services, n, kind, factory.name),
            sets.filter((s) => s.kind === kind).map((s) => s.clients),
            clients,
          );
          if (tooBig) {
            progress(`${label}: not run (${tooBig})`);
            const list = errors.get(key(services, clients, kind, 'all')) ?? [];
            if (!list.some((m) => m.startsWith(`${factory.name}: not run`)))
              list.push(`${factory.name}: not run: ${tooBig}`);
            errors.set(key(services, clients, kind, 'all'), list);
            continue;
          }
          progress(label);
          const workDir = fs.mkdtempSync(path.join(workRoot, `${factory.name}-`));
          // The mTLS kinds get the same mesh made mTLS, so their sidecars have inbound listeners to build.
          const size = {
            services,
            endpointsPerCluster: options.endpointsPerCluster,
            clusters: options.clusters,
            ...(isMtlsKind(kind) ? { mtls: true } : {}),
            ...(kind === 'scoped' ? { callsPerWorkload: options.callsPerWorkload } : {}),
          };
          try {
            const result = await measureRun(
              factory,
              {
                size,
                clients,
                flips: options.flips,
                mode: options.mode,
                kind,
                workDir,
                rssLimitBytes: SERVER_MEMORY_BUDGET_BYTES,
                steadyIdleMs: options.steadyIdleMs,
              },
              (line) => progress(`  ${line}`),
            );
            const runs = results.get(key(services, clients, kind, factory.name)) ?? [];
            runs.push(result);
            results.set(key(services, clients, kind, factory.name), runs);
            fs.rmSync(workDir, { recursive: true, force: true });
          } catch (error) {
            const message = `${factory.name}: ${error instanceof Error ? error.message : String(error)}`;
            progress(`  FAILED ${message} (logs kept in ${workDir})`);
            if (factory.name === 'spillway') spillwayFailed = true;
            const list = errors.get(key(services, clients, kind, 'all')) ?? [];
            list.push(message);
            errors.set(key(services, clients, kind, 'all'), list);
          }
        }
      }
    }
  }

  writeReport();
  if (spillwayFailed) {
    // Peers failing is reported, not fatal; Spillway's own run failing means the harness (or Spillway) is broken.
    progress('FAILED: a Spillway run failed (see above)');
    process.exitCode = 1;
  }
}

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
main(options).catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
