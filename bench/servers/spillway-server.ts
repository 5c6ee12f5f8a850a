// Starts bench/servers/spillway-main.ts as a child process and drives it over IPC.
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { MeshSize, NotReady, SERVICE_PORT, serviceName, BENCH_NAMESPACE } from '../mesh/generate-mesh';
import { serviceHost } from '../../src/mesh/model';
import { BenchNode } from '../load/protocol';
import { ServerFactory, ServerUnderTest } from './server-under-test';
import {
  mtlsPodAnchors,
  mtlsPodNode,
  outboundName,
  scopedSidecarNode,
  sidecarAnchors,
  sidecarNode,
} from './sidecar-nodes';
import { stopProcess } from './child-process';
import type { FromSpillway, ToSpillway } from './spillway-main';

const START_TIMEOUT_MS = 60_000;

/**
 * The process settings Spillway ships with (Dockerfile, deploy/): glibc's malloc keeps a fixed mmap
 * threshold, so the large response buffers of a reconnect storm go back to the system once freed instead
 * of staying resident (see docs/OPERATIONS.md, Memory). BENCH_NO_PROCESS_ENV=1 runs without them, to weigh
 * the trade-off (page faults on every large buffer cost CPU in a storm).
 */
const SPILLWAY_PROCESS_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' };

export class SpillwayServer implements ServerUnderTest {
  readonly name = 'spillway';

  constructor(
    private readonly child: ChildProcess,
    readonly xdsAddress: string,
    private readonly size: MeshSize,
  ) {}

  get pid(): number {
    return this.child.pid as number;
  }

  node(group: string, index: number): BenchNode {
    return sidecarNode(this.size, `sidecar-${group}-${index}`, index);
  }

  /** Proxyless: Spillway recognizes gRPC by the user agent and serves `<host>:<port>` API listeners. */
  grpcNode(group: string, index: number, targets: string[]): BenchNode {
    return { ...sidecarNode(this.size, `grpc-${group}-${index}`, index), kind: 'grpc', targets };
  }

  mtlsPodNode(group: string, index: number, distinct: boolean): BenchNode {
    return mtlsPodNode(this.size, `pod-${group}-${index}`, index, distinct);
  }

  scopedNode(group: string, index: number): BenchNode {
    return scopedSidecarNode(this.size, `scoped-${group}-${index}`, index);
  }

  anchorNodes(): BenchNode[] {
    return sidecarAnchors(this.size);
  }

  mtlsAnchorNodes(): BenchNode[] {
    return mtlsPodAnchors(this.size);
  }

  edsNameOf(service: number): string {
    return outboundName(serviceHost({ name: serviceName(service), namespace: BENCH_NAMESPACE }), SERVICE_PORT);
  }

  async apply(notReady: NotReady): Promise<bigint> {
    const applied = new Promise<void>((resolve) => {
      const onMessage = (message: FromSpillway) => {
        if (message.kind !== 'applied') return;
        this.child.off('message', onMessage);
        resolve();
      };
      this.child.on('message', onMessage);
    });
    const startedNs = process.hrtime.bigint();
    this.child.send({ kind: 'apply', notReady: [...notReady] } satisfies ToSpillway);
    await applied;
    return startedNs;
  }

  /** The server's own view of its memory (JS heap, buffers, native); `collect`: after a full collection. */
  async memory(collect = false): Promise<NodeJS.MemoryUsage> {
    const reply = await this.request({ kind: 'memory', collect }, 'memory');
    return reply.kind === 'memory' ? reply.usage : process.memoryUsage();
  }

  /** Live JS heap plus memory held outside it by JS objects (Buffers: the encoded responses), after a full collection. */
  async heapBytes(): Promise<number> {
    const usage = await this.memory(true);
    return usage.heapUsed + usage.external;
  }

  /** Starts V8's CPU profiler in the server (to profile one phase). */
  async startProfile(): Promise<void> {
    await this.request({ kind: 'profile-start' }, 'profile-started');
  }

  /** Writes a V8 heap snapshot of the server to `file`. */
  async heapSnapshot(file: string): Promise<void> {
    await this.request({ kind: 'heap-snapshot', file }, 'heap-snapshot-written');
  }

  /** Stops it and writes the .cpuprofile to `file`. */
  async stopProfile(file: string): Promise<void> {
    await this.request({ kind: 'profile-stop', file }, 'profile-stopped');
  }

  private request(message: ToSpillway, answer: FromSpillway['kind']): Promise<FromSpillway> {
    return new Promise((resolve) => {
      const onMessage = (reply: FromSpillway) => {
        if (reply.kind !== answer) return;
        this.child.off('message', onMessage);
        resolve(reply);
      };
      this.child.on('message', onMessage);
      this.child.send(message);
    });
  }

  /** `graceMs`: longer when the process writes a profile on its way out. */
  async stop(graceMs?: number): Promise<void> {
    await stopProcess(this.child, graceMs);
  }
}

/** Starts Spillway with extra Node flags (profiling: --cpu-prof, --heap-prof, ...). */
export async function startSpillway(size: MeshSize, workDir: string, execArgv: string[] = []): Promise<SpillwayServer> {
  const log = fs.openSync(path.join(workDir, 'spillway.log'), 'w');
  const child = fork(path.join(__dirname, 'spillway-main.js'), [JSON.stringify(size)], {
    stdio: ['ignore', log, log, 'ipc'],
    // --expose-gc only lets the harness ask for a collection before it reads the live heap.
    execArgv: ['--expose-gc', ...execArgv],
    env: { ...process.env, ...(process.env.BENCH_NO_PROCESS_ENV ? {} : SPILLWAY_PROCESS_ENV) },
  });
  fs.closeSync(log);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`spillway did not start within ${START_TIMEOUT_MS} ms (see ${workDir}/spillway.log)`)),
      START_TIMEOUT_MS,
    );
    child.once('exit', (code) => reject(new Error(`spillway exited (${code}) at start (see ${workDir}/spillway.log)`)));
    child.on('message', (message: FromSpillway) => {
      if (message.kind === 'ready') {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
  });
  return new SpillwayServer(child, `127.0.0.1:${port}`, size);
}

export const spillwayFactory: ServerFactory = {
  name: 'spillway',
  unavailable: () => undefined,
  start: (size: MeshSize, workDir: string): Promise<ServerUnderTest> => startSpillway(size, workDir),
};
