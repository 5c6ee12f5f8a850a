// The load-generator child process: holds many ADS streams for the harness, in a process of its own so
// that client work is not counted as the server's (the server's CPU and memory are what is measured).
import { BenchClient, ClientEvents } from './bench-client';
import { FromLoadGenerator, HeldCounts, ToLoadGenerator } from './protocol';

interface Group {
  clients: BenchClient[];
  startedNs: bigint;
  synced: number;
  reported: boolean;
  /** Streams of synced clients that ended and were opened again. */
  reopened: number;
  /** While armed: the EDS name that must show up, and each client's arrival time. */
  armed?: { edsName: string; arrivals: Map<BenchClient, bigint>; acked: Map<BenchClient, bigint> };
}

const groups = new Map<string, Group>();

function send(message: FromLoadGenerator): void {
  process.send?.(message);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)];
}

function groupEvents(name: string, group: Group): ClientEvents {
  return {
    synced: () => {
      group.synced++;
      if (group.synced === group.clients.length && !group.reported) {
        group.reported = true;
        const first = group.clients[0];
        const held: HeldCounts = { ...first.held };
        send({
          kind: 'synced',
          group: name,
          syncMs: group.clients.map((c) => Number((c.syncedAtNs as bigint) - group.startedNs) / 1e6),
          bytesPerClient: median(group.clients.map((c) => c.bytesReceived)),
          held,
          reconnects: group.clients.reduce((sum, c) => sum + c.reconnects, 0),
        });
      }
    },
    endpoints: (client, receivedNs, ackedNs, names) => {
      const armed = group.armed;
      if (!armed || armed.arrivals.has(client) || !names.has(armed.edsName)) return;
      armed.arrivals.set(client, receivedNs);
      armed.acked.set(client, ackedNs);
      if (armed.arrivals.size === group.clients.length) {
        group.armed = undefined;
        const clients = [...armed.arrivals.keys()];
        send({
          kind: 'updated',
          group: name,
          arrivalsNs: clients.map((c) => String(armed.arrivals.get(c))),
          ackedNs: clients.map((c) => String(armed.acked.get(c))),
        });
      }
    },
    failed: (_client, message) => send({ kind: 'failed', group: name, message }),
    reopened: (_client, message) => {
      group.reopened++;
      // Said on stderr (the bench's log), the first few and then every 100th: a server dropping synced clients shows.
      if (group.reopened <= 3 || group.reopened % 100 === 0)
        process.stderr.write(
          `[load generator ${process.pid}] ${name}: ${group.reopened} synced streams ended and opened again (last: ${message})\n`,
        );
    },
  };
}

function handle(message: ToLoadGenerator): void {
  switch (message.kind) {
    case 'connect': {
      const group: Group = { clients: [], startedNs: process.hrtime.bigint(), synced: 0, reported: false, reopened: 0 };
      groups.set(message.group, group);
      const events = groupEvents(message.group, group);
      for (const node of message.nodes)
        group.clients.push(new BenchClient(message.address, node, message.mode, events));
      return;
    }
    case 'arm': {
      const group = groups.get(message.group);
      if (!group) return send({ kind: 'failed', group: message.group, message: 'no such group' });
      group.armed = { edsName: message.edsName, arrivals: new Map(), acked: new Map() };
      return send({ kind: 'armed', group: message.group });
    }
    case 'stats': {
      const clients = groups.get(message.group)?.clients ?? [];
      return send({
        kind: 'stats',
        group: message.group,
        bytes: clients.reduce((sum, c) => sum + c.bytesReceived, 0),
        responses: clients.reduce((sum, c) => sum + c.responses, 0),
      });
    }
    case 'close': {
      const group = groups.get(message.group);
      for (const client of group?.clients ?? []) client.close();
      groups.delete(message.group);
      return send({ kind: 'closed', group: message.group });
    }
  }
}

process.on('message', (message: ToLoadGenerator) => handle(message));
process.on('disconnect', () => process.exit(0));
