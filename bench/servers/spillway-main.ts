// Spillway as a server under test: the real pipeline (mesh store with its default debounce, translation,
// snapshot cache, xDS server), fed by the harness the way a discovery source feeds it: a whole shard
// replaced at each change. Runs in a process of its own so its CPU and memory can be measured alone.
import * as fs from 'fs';
import * as inspector from 'inspector';
import * as v8 from 'v8';
import { createLogger } from '../../src/log';
import { MeshStore } from '../../src/mesh/store';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { MeshSize, generateMesh } from '../mesh/generate-mesh';

/** `collect`: run a full collection first (needs --expose-gc), so the heap figure is live data only. */
export type ToSpillway =
  | { kind: 'apply'; notReady: string[] }
  | { kind: 'memory'; collect?: boolean }
  | { kind: 'profile-start' }
  | { kind: 'profile-stop'; file: string }
  | { kind: 'heap-snapshot'; file: string };
export type FromSpillway =
  | { kind: 'ready'; port: number }
  | { kind: 'applied' }
  | { kind: 'memory'; usage: NodeJS.MemoryUsage }
  | { kind: 'profile-started' }
  | { kind: 'profile-stopped'; file: string }
  | { kind: 'heap-snapshot-written'; file: string };

const SHARD = 'bench';

// CPU profiling of one phase (say, the pushes after a storm), through the in-process inspector.
let session: inspector.Session | undefined;

function profile(message: { kind: 'profile-start' } | { kind: 'profile-stop'; file: string }): void {
  if (message.kind === 'profile-start') {
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable', () =>
      session?.post('Profiler.start', () => process.send?.({ kind: 'profile-started' } satisfies FromSpillway)),
    );
    return;
  }
  session?.post('Profiler.stop', (error, result) => {
    if (!error) fs.writeFileSync(message.file, JSON.stringify(result.profile));
    session?.disconnect();
    session = undefined;
    process.send?.({ kind: 'profile-stopped', file: message.file } satisfies FromSpillway);
  });
}

async function main(): Promise<void> {
  const size = JSON.parse(process.argv[2]) as MeshSize;
  const store = new MeshStore();
  store.setShard(SHARD, generateMesh(size));
  store.flush();
  // Production default level; the harness sends the output to a log file.
  const spillway = new ControlPlane({ store, logger: createLogger('info', 'json'), xdsAddress: '127.0.0.1:0' });
  const port = await spillway.start();
  process.on('message', (message: ToSpillway) => {
    if (message.kind === 'profile-start' || message.kind === 'profile-stop') {
      profile(message);
      return;
    }
    if (message.kind === 'heap-snapshot') {
      // What holds the memory, object by object (opens in Chrome DevTools' Memory tab).
      v8.writeHeapSnapshot(message.file);
      process.send?.({ kind: 'heap-snapshot-written', file: message.file } satisfies FromSpillway);
      return;
    }
    if (message.kind === 'memory') {
      // Where the memory is (JS heap, buffers, native): for profiling, and the report's live-heap figure.
      if (message.collect) global.gc?.();
      process.send?.({ kind: 'memory', usage: process.memoryUsage() } satisfies FromSpillway);
      return;
    }
    if (message.kind !== 'apply') return;
    store.setShard(SHARD, generateMesh(size, new Set(message.notReady)));
    process.send?.({ kind: 'applied' } satisfies FromSpillway);
  });
  process.on('disconnect', () => process.exit(0));
  // A clean exit on SIGTERM, so --cpu-prof / --heap-prof write their profiles.
  process.on('SIGTERM', () => process.exit(0));
  process.send?.({ kind: 'ready', port } satisfies FromSpillway);
}

main().catch((error: unknown) => {
  process.stderr.write(`spillway bench server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
