// Before starting anything: can every fixed address of the demo be bound? A busy port found later would
// surface as an Envoy listener warning deep in a log, so each one is tried here and named in the error.
import * as net from 'net';
import { PlannedAddress } from './demo-plan';

export interface UnavailableAddress extends PlannedAddress {
  reason: string;
}

function tryBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve('busy');
      else if (error.code === 'EADDRNOTAVAIL') resolve(`address ${host} is not on this machine`);
      else resolve(error.message);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

export async function findUnavailable(addresses: readonly PlannedAddress[]): Promise<UnavailableAddress[]> {
  const results = await Promise.all(addresses.map(async (a) => ({ ...a, reason: await tryBind(a.host, a.port) })));
  return results.filter((r): r is UnavailableAddress => r.reason !== undefined);
}

/** The error text: every address, what it is for, and what to do next. */
export function formatUnavailable(unavailable: readonly UnavailableAddress[]): string {
  const lines = unavailable.map((u) => `  ${u.host}:${u.port}  ${u.reason}  (${u.purpose})`);
  const hints: string[] = [];
  if (unavailable.some((u) => u.reason === 'busy')) {
    const ports = [...new Set(unavailable.filter((u) => u.reason === 'busy').map((u) => u.port))];
    hints.push(
      `find who holds them: ss -ltnp | grep -E ':(${ports.join('|')})\\b'  (another spillway demo or serve? stop it first)`,
    );
  }
  if (unavailable.some((u) => u.reason.includes('not on this machine'))) {
    hints.push('on macOS, add loopback aliases: sudo ifconfig lo0 alias 127.0.0.2 (and 127.0.0.3, 127.0.0.4)');
  }
  return [
    `the demo needs these fixed addresses, which are not available:`,
    ...lines,
    ...hints.map((h) => `hint: ${h}`),
  ].join('\n');
}
