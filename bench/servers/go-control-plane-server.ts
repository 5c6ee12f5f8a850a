// The go-control-plane peer (bench/peers/go-control-plane): serves Spillway's own resources for the mesh
// (the same resources; what each response carries depends on the cache). go-control-plane is a library
// without translation: the harness translates (not counted) and hands over only what changed, as a program
// built on it would. Two configurations: LinearCache per view and type (what an experienced user would
// pick for EDS-heavy pushes) and SnapshotCache (a reference row).
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { serviceHost } from '../../src/mesh/model';
import { BenchNode } from '../load/protocol';
import { BENCH_NAMESPACE, MeshSize, NotReady, SERVICE_PORT, generateMesh, serviceName } from '../mesh/generate-mesh';
import { SentVersions, changedResourceLines } from '../mesh/spillway-resources';
import { peerBinary } from '../peer-binaries';
import { stopProcess, waitForLine } from './child-process';
import { ServerFactory, ServerName, ServerUnderTest } from './server-under-test';
import { outboundName, scopedSidecarNode, sidecarAnchors, sidecarNode } from './sidecar-nodes';

const START_TIMEOUT_MS = 30_000;
const LOAD_TIMEOUT_MS = 120_000;

/** The peer's -cache flag. */
type CacheKind = 'linear' | 'snapshot';

class GoControlPlaneServer implements ServerUnderTest {
  private readonly sent: SentVersions = new Map();
  private loads = 0;

  constructor(
    readonly name: ServerName,
    private readonly child: ChildProcess,
    readonly xdsAddress: string,
    private readonly size: MeshSize,
    private readonly workDir: string,
  ) {}

  get pid(): number {
    return this.child.pid as number;
  }

  node(group: string, index: number): BenchNode {
    return sidecarNode(this.size, `sidecar-${group}-${index}`, index);
  }

  scopedNode(group: string, index: number): BenchNode {
    return scopedSidecarNode(this.size, `scoped-${group}-${index}`, index);
  }

  anchorNodes(): BenchNode[] {
    return sidecarAnchors(this.size);
  }

  edsNameOf(service: number): string {
    return outboundName(serviceHost({ name: serviceName(service), namespace: BENCH_NAMESPACE }), SERVICE_PORT);
  }

  /** Writes the changed resources to a file first; the timed part starts when the peer is told to load it. */
  async apply(notReady: NotReady): Promise<bigint> {
    const lines = changedResourceLines(generateMesh(this.size, notReady), this.size, this.sent);
    const file = path.join(this.workDir, `resources-${++this.loads}.jsonl`);
    fs.writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    const reply = waitForLine(this.child, /^(ok|error) ?(.*)$/, LOAD_TIMEOUT_MS, 'go-control-plane load');
    const startedNs = process.hrtime.bigint();
    this.child.stdin?.write(`load ${file}\n`);
    const match = await reply;
    if (match[1] !== 'ok') throw new Error(`go-control-plane peer: ${match[2]}`);
    return startedNs;
  }

  /** Go's HeapAlloc after runtime.GC() (live heap), asked for over the peer's stdin. */
  async heapBytes(): Promise<number> {
    const reply = waitForLine(this.child, /^mem (\d+) (\d+) (\d+) (\d+)$/, LOAD_TIMEOUT_MS, `${this.name} mem`);
    this.child.stdin?.write('mem\n');
    const match = await reply;
    return Number(match[1]);
  }

  async stop(): Promise<void> {
    this.child.stdin?.end('quit\n');
    await stopProcess(this.child);
  }
}

function factory(name: ServerName, cache: CacheKind): ServerFactory {
  return {
    name,
    unavailable: () =>
      peerBinary('go-control-plane')
        ? undefined
        : 'the go-control-plane peer is not built (scripts/bench-peers.sh says why)',
    async start(size: MeshSize, workDir: string): Promise<ServerUnderTest> {
      const binary = peerBinary('go-control-plane') as string;
      const log = fs.openSync(path.join(workDir, `${name}.log`), 'w');
      const child = spawn(binary, ['-listen', '127.0.0.1:0', '-cache', cache], { stdio: ['pipe', 'pipe', log] });
      fs.closeSync(log);
      const [, port] = await waitForLine(child, /^listening (\d+)$/, START_TIMEOUT_MS, `${name} peer`);
      const server = new GoControlPlaneServer(name, child, `127.0.0.1:${port}`, size, workDir);
      await server.apply(new Set());
      return server;
    },
  };
}

export const goControlPlaneFactory = factory('go-control-plane', 'linear');
export const goControlPlaneSnapshotFactory = factory('go-control-plane-snapshot', 'snapshot');
