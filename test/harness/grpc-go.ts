// The grpc-go xDS test client and backend (test/grpc-go/), built by scripts/grpc-go.sh and cached
// outside the repo, keyed by a hash of its sources.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { repoRoot } from './paths';

let binary: string | undefined;

/** The cached binary; throws with the command to run when it was not built yet. */
export function grpcGoBinary(): string {
  if (binary) return binary;
  const script = path.join(repoRoot(), 'scripts', 'grpc-go.sh');
  let output: string;
  try {
    output = execFileSync('bash', [script, '--path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    throw new Error(`the grpc-go test binary is not built: run 'bash scripts/grpc-go.sh' (or 'make setup')`);
  }
  const found = /^grpc-go=(.+)$/m.exec(output)?.[1];
  if (!found) throw new Error(`scripts/grpc-go.sh --path printed no path: ${output}`);
  binary = found;
  return binary;
}
