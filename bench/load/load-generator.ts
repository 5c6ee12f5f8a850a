// The harness side of the load generator: forks the child and turns its messages into promises.
import { ChildProcess, fork } from 'child_process';
import * as path from 'path';
import { BenchNode, FromLoadGenerator, HeldCounts, StreamMode, ToLoadGenerator } from './protocol';

export interface SyncResult {
  syncMs: number[];
  bytesPerClient: number;
  held: HeldCounts;
  reconnects: number;
}

/** Per client (same order in both): when the changed EDS response arrived, and when its ACK was written. */
export interface Arrivals {
  receivedNs: bigint[];
  ackedNs: bigint[];
}

interface Waiter {
  group: string;
  accept: (message: FromLoadGenerator) => boolean;
  resolve: (message: FromLoadGenerator) => void;
  reject: (error: Error) => void;
}

/** Client memory grows with responses held in flight; give the child room so it never limits a server. */
const LOAD_GENERATOR_HEAP_MB = 4_096;

export class LoadGeneratorProcess {
  private readonly waiters = new Set<Waiter>();
  private readonly failures: string[] = [];

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromLoadGenerator) => this.deliver(message));
    child.on('exit', (code) => {
      for (const waiter of this.waiters) waiter.reject(new Error(`load generator exited (${code})`));
      this.waiters.clear();
    });
  }

  static start(): LoadGeneratorProcess {
    const child = fork(path.join(__dirname, 'load-generator-main.js'), [], {
      execArgv: [`--max-old-space-size=${LOAD_GENERATOR_HEAP_MB}`],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new LoadGeneratorProcess(child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  async connect(
    group: string,
    address: string,
    nodes: BenchNode[],
    mode: StreamMode,
    timeoutMs: number,
  ): Promise<SyncResult> {
    const reply = this.expect(
      (m) => m.kind === 'synced' && m.group === group,
      group,
      timeoutMs,
      `${nodes.length} clients to sync`,
    );
    this.send({ kind: 'connect', group, address, nodes, mode });
    const message = await reply;
    if (message.kind !== 'synced') throw new Error('unexpected reply');
    return {
      syncMs: message.syncMs,
      bytesPerClient: message.bytesPerClient,
      held: message.held,
      reconnects: message.reconnects,
    };
  }

  /** Arms the group; the returned promise resolves with every client's arrival time (hrtime ns). */
  async arm(group: string, edsName: string, timeoutMs: number): Promise<{ arrivals: Promise<Arrivals> }> {
    const armed = this.expect((m) => m.kind === 'armed' && m.group === group, group, 5_000, 'arming');
    const updated = this.expect(
      (m) => m.kind === 'updated' && m.group === group,
      group,
      timeoutMs,
      `an EDS update naming ${edsName}`,
    );
    updated.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile
    this.send({ kind: 'arm', group, edsName });
    await armed;
    return {
      arrivals: updated.then((message) =>
        message.kind === 'updated'
          ? { receivedNs: message.arrivalsNs.map((ns) => BigInt(ns)), ackedNs: message.ackedNs.map((ns) => BigInt(ns)) }
          : { receivedNs: [], ackedNs: [] },
      ),
    };
  }

  /** Bytes and responses received by all clients of the group so far. */
  async stats(group: string): Promise<{ bytes: number; responses: number }> {
    const reply = this.expect((m) => m.kind === 'stats' && m.group === group, group, 10_000, 'stats');
    this.send({ kind: 'stats', group });
    const message = await reply;
    return message.kind === 'stats'
      ? { bytes: message.bytes, responses: message.responses }
      : { bytes: 0, responses: 0 };
  }

  async close(group: string): Promise<void> {
    const reply = this.expect((m) => m.kind === 'closed' && m.group === group, group, 10_000, 'closing');
    this.send({ kind: 'close', group });
    await reply;
  }

  /** Stream failures reported so far (a server that refuses or drops clients). */
  takeFailures(): string[] {
    return this.failures.splice(0);
  }

  stop(): void {
    this.child.disconnect();
    this.child.kill();
  }

  private send(message: ToLoadGenerator): void {
    this.child.send(message);
  }

  private deliver(message: FromLoadGenerator): void {
    if (message.kind === 'failed') {
      // A client gave up (after its retries): whatever its group waits for will not come.
      if (this.failures.length < 20) this.failures.push(`${message.group}: ${message.message}`);
      for (const waiter of this.waiters) {
        if (waiter.group !== message.group) continue;
        this.waiters.delete(waiter);
        waiter.reject(new Error(`${message.group}: a client failed: ${message.message}`));
      }
      return;
    }
    for (const waiter of this.waiters) {
      if (waiter.accept(message)) {
        this.waiters.delete(waiter);
        waiter.resolve(message);
        return;
      }
    }
  }

  private expect(
    accept: (message: FromLoadGenerator) => boolean,
    group: string,
    timeoutMs: number,
    what: string,
  ): Promise<FromLoadGenerator> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const failures = this.failures.length > 0 ? ` (stream failures: ${this.failures.slice(0, 3).join('; ')})` : '';
        reject(new Error(`${group}: no ${what} within ${timeoutMs} ms${failures}`));
      }, timeoutMs);
      const waiter: Waiter = {
        group,
        accept,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }
}

/** Clients per load-generator process: above this, clients are spread over several processes (cores). */
export const CLIENTS_PER_PROCESS = 1_250;
export const MAX_PROCESSES = 8;

/**
 * Several load-generator processes behind one interface, so one Node event loop does not limit how fast
 * thousands of clients follow a server. Nodes are dealt round-robin; every process gets a share of
 * every group.
 */
export class LoadGenerator {
  private constructor(private readonly processes: LoadGeneratorProcess[]) {}

  static start(clients: number): LoadGenerator {
    const count = Math.max(1, Math.min(MAX_PROCESSES, Math.ceil(clients / CLIENTS_PER_PROCESS)));
    return new LoadGenerator(Array.from({ length: count }, () => LoadGeneratorProcess.start()));
  }

  get processCount(): number {
    return this.processes.length;
  }

  /** The load-generator processes (to measure their CPU beside the server's). */
  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  private shares(nodes: BenchNode[]): BenchNode[][] {
    const shares: BenchNode[][] = this.processes.map(() => []);
    nodes.forEach((node, i) => shares[i % shares.length].push(node));
    return shares;
  }

  async connect(
    group: string,
    address: string,
    nodes: BenchNode[],
    mode: StreamMode,
    timeoutMs: number,
  ): Promise<SyncResult> {
    const shares = this.shares(nodes);
    const results = await Promise.all(
      this.processes.map((p, i) =>
        shares[i].length > 0 ? p.connect(group, address, shares[i], mode, timeoutMs) : Promise.resolve(undefined),
      ),
    );
    const done = results.filter((r): r is SyncResult => r !== undefined);
    const first = done[0];
    const bytes = done.map((r) => r.bytesPerClient).sort((a, b) => a - b);
    return {
      syncMs: done.flatMap((r) => r.syncMs),
      bytesPerClient: bytes[Math.floor((bytes.length - 1) / 2)],
      held: first.held,
      reconnects: done.reduce((sum, r) => sum + r.reconnects, 0),
    };
  }

  /** Arms the group in every process; resolves with all clients' arrivals. */
  async arm(
    group: string,
    edsName: string,
    timeoutMs: number,
    active: number,
  ): Promise<{ arrivals: Promise<Arrivals> }> {
    const armed = await Promise.all(this.processes.slice(0, active).map((p) => p.arm(group, edsName, timeoutMs)));
    return {
      arrivals: Promise.all(armed.map((a) => a.arrivals)).then((all) => ({
        receivedNs: all.flatMap((a) => a.receivedNs),
        ackedNs: all.flatMap((a) => a.ackedNs),
      })),
    };
  }

  async stats(group: string, active: number): Promise<{ bytes: number; responses: number }> {
    const all = await Promise.all(this.processes.slice(0, active).map((p) => p.stats(group)));
    return { bytes: all.reduce((s, a) => s + a.bytes, 0), responses: all.reduce((s, a) => s + a.responses, 0) };
  }

  stop(): void {
    for (const p of this.processes) p.stop();
  }
}
