// Optional CPU pinning (`--pin`): the server and the recording hop on one half of the cores, every client
// process on the other, so the K Envoys' own work (about 1 ms of CPU each per EDS update) competes
// neither with the server nor with the hop's timestamps, for both kinds of client alike. Linux `taskset`.
import { spawnSync } from 'child_process';
import * as os from 'os';

export interface Pinning {
  /** Core lists (taskset -c syntax): the server and the hop; the clients. */
  server: string;
  clients: string;
}

/** Two disjoint halves of the machine's cores, or an error when it has only one. */
export function splitCores(): Pinning {
  const cores = os.cpus().length;
  if (cores < 2) throw new Error('--pin needs at least 2 cores');
  const half = Math.floor(cores / 2);
  return {
    server: half === 1 ? '0' : `0-${half - 1}`,
    clients: cores - half === 1 ? String(half) : `${half}-${cores - 1}`,
  };
}

/** Pins every thread of a running process (threads it starts later inherit it). */
export function pinProcess(pid: number, cores: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`taskset -p -c ${cores} ${pid} failed: ${result.stderr || result.error?.message}`);
}
