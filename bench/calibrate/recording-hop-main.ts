// The recording hop, a process of its own between clients and the server under test: every client
// connection gets its own upstream connection, bytes are forwarded unchanged as they come, and a copy is
// read (grpc-over-h2.ts, ads-watch.ts) to time, on one clock, when each client's changed EDS response
// passed and when its ACK passed. Real Envoys and load-generator clients go through the same hop, so
// both are timed the same way, without changing either.
import * as net from 'net';
import { AdsWatch } from './ads-watch';
import { GrpcOverH2Reader } from './grpc-over-h2';
import type { FromHop, HopStatus, ToHop } from './recording-hop-protocol';

const LISTEN_BACKLOG = 4_096;

interface Connection {
  watch: AdsWatch;
  bytesDown: number;
  bytesUp: number;
  /** Why its bytes could not be read (it is still forwarded). */
  unreadable?: string;
}

const connections = new Set<Connection>();
let armed: Connection[] | undefined;
let closedWhileArmed = 0;
let unreadableTotal = 0;
let unreadableReason: string | undefined;

function send(message: FromHop): void {
  process.send?.(message);
}

function status(): HopStatus {
  let synced = 0;
  let nacks = 0;
  let bytesDown = 0;
  let bytesUp = 0;
  let responses = 0;
  for (const c of connections) {
    if (c.watch.synced) synced++;
    nacks += c.watch.nacks;
    bytesDown += c.bytesDown;
    bytesUp += c.bytesUp;
    responses += c.watch.responses;
  }
  return {
    connections: connections.size,
    synced,
    nacks,
    bytesDown,
    bytesUp,
    responses,
    unreadable: unreadableTotal,
    ...(unreadableReason ? { unreadableReason } : {}),
  };
}

/** Reports the armed flip once every armed connection has ACKed (or NACKed) the response that carried it. */
function checkFlip(): void {
  if (!armed?.every((c) => c.watch.flipDone)) return;
  const sightings = armed.map((c) => c.watch.sighting ?? {});
  send({
    kind: 'flip',
    receivedNs: sightings.map((s) => String(s.receivedNs ?? 0n)),
    ackedNs: sightings.filter((s) => s.ackedNs !== undefined).map((s) => String(s.ackedNs)),
    nacked: sightings.filter((s) => s.nacked).length,
  });
  for (const c of armed) c.watch.disarm();
  armed = undefined;
}

/** Pipes one direction, pausing the source while the destination's buffer is full. */
function forward(from: net.Socket, to: net.Socket, onChunk: (chunk: Buffer, atNs: bigint) => void): void {
  from.on('data', (chunk: Buffer) => {
    const atNs = process.hrtime.bigint();
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
    onChunk(chunk, atNs);
  });
}

function accept(upstreamHost: string, upstreamPort: number, down: net.Socket): void {
  const up = net.connect(upstreamPort, upstreamHost);
  down.setNoDelay(true);
  up.setNoDelay(true);
  const connection: Connection = { watch: new AdsWatch(), bytesDown: 0, bytesUp: 0 };
  connections.add(connection);
  let chunkAtNs = 0n;
  const fromClient = new GrpcOverH2Reader(true, (stream, message) =>
    connection.watch.fromClient(stream, message, chunkAtNs),
  );
  const fromServer = new GrpcOverH2Reader(false, (stream, message) =>
    connection.watch.fromServer(stream, message, chunkAtNs),
  );
  const read = (reader: GrpcOverH2Reader, chunk: Buffer, atNs: bigint) => {
    if (connection.unreadable) return;
    chunkAtNs = atNs;
    try {
      reader.feed(chunk);
    } catch (error) {
      connection.unreadable = error instanceof Error ? error.message : String(error);
      unreadableTotal++;
      unreadableReason ??= connection.unreadable;
    }
    checkFlip();
  };
  forward(down, up, (chunk, atNs) => {
    connection.bytesUp += chunk.length;
    read(fromClient, chunk, atNs);
  });
  forward(up, down, (chunk, atNs) => {
    connection.bytesDown += chunk.length;
    read(fromServer, chunk, atNs);
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    down.destroy();
    up.destroy();
    connections.delete(connection);
    if (armed?.includes(connection)) {
      closedWhileArmed++;
      send({ kind: 'failed', message: `a client connection closed during a flip (${closedWhileArmed} so far)` });
      armed = armed.filter((c) => c !== connection);
      checkFlip();
    }
  };
  for (const socket of [down, up]) {
    socket.on('close', close);
    socket.on('error', close);
  }
}

function handle(message: ToHop): void {
  switch (message.kind) {
    case 'status':
      return send({ kind: 'status', status: status() });
    case 'arm': {
      armed = [...connections].filter((c) => c.watch.synced);
      for (const c of armed) c.watch.arm(message.edsName);
      return send({ kind: 'armed', connections: armed.length });
    }
    case 'disarm':
      for (const c of connections) c.watch.disarm();
      armed = undefined;
      return send({ kind: 'disarmed' });
  }
}

function main(): void {
  const upstream = process.argv[2] ?? '';
  const colon = upstream.lastIndexOf(':');
  const host = upstream.slice(0, colon);
  const port = Number(upstream.slice(colon + 1));
  if (!host || !Number.isInteger(port)) throw new Error(`recording hop: upstream "${upstream}" is not host:port`);
  const server = net.createServer((down) => accept(host, port, down));
  server.listen({ host: '127.0.0.1', port: 0, backlog: LISTEN_BACKLOG }, () => {
    send({ kind: 'listening', port: (server.address() as net.AddressInfo).port });
  });
  process.on('message', (message: ToHop) => handle(message));
  process.on('disconnect', () => process.exit(0));
}

main();
