// Where the peers' binaries are: scripts/bench-peers.sh builds what is missing (into a cache outside the
// repository) and prints NAME=PATH for each peer that is ready.
import { spawnSync } from 'child_process';
import * as path from 'path';

export type PeerName = 'go-control-plane' | 'istiod';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

let found: Map<string, string> | undefined;

/**
 * Builds the missing peers among `peers` (progress on stderr) and records their paths. Only the peers a
 * run uses: istiod takes about ten minutes of both cores to build, which a go-control-plane run must not pay.
 */
export function preparePeers(peers: readonly PeerName[], cachedOnly = false): void {
  found = new Map();
  for (const peer of peers) {
    const args = [
      path.join(REPO_ROOT, 'scripts', 'bench-peers.sh'),
      '--print-paths',
      '--only',
      peer,
      ...(cachedOnly ? ['--cached-only'] : []),
    ];
    const result = spawnSync('bash', args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    for (const line of (result.stdout ?? '').split('\n')) {
      const match = /^([a-z-]+)=(.+)$/.exec(line);
      if (match) found.set(match[1], match[2]);
    }
  }
}

export function peerBinary(name: PeerName): string | undefined {
  return found?.get(name);
}
