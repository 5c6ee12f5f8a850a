// Where the peers' binaries are: scripts/bench-peers.sh builds what is missing (into a cache outside the
// repository) and prints NAME=PATH for each peer that is ready.
import { spawnSync } from 'child_process';
import * as path from 'path';

export type PeerName = 'go-control-plane' | 'istiod';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

let found: Map<string, string> | undefined;

/** Builds missing peers (progress on stderr) and records their paths. */
export function preparePeers(cachedOnly = false): void {
  const args = [path.join(REPO_ROOT, 'scripts', 'bench-peers.sh'), '--print-paths', ...(cachedOnly ? ['--cached-only'] : [])];
  const result = spawnSync('bash', args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  found = new Map();
  for (const line of (result.stdout ?? '').split('\n')) {
    const match = line.match(/^([a-z-]+)=(.+)$/);
    if (match) found.set(match[1] as string, match[2] as string);
  }
}

export function peerBinary(name: PeerName): string | undefined {
  return found?.get(name);
}
