// Starts the demo backends (src/demo/backend.ts) as separate processes, so killing one is a real crash that
// Envoy's outlier detection sees, exactly as in production.
import * as fs from 'fs';
import * as path from 'path';
import { BACKEND_READY_LINE } from './backend-identity';
import { PlannedBackend, describeBackend } from './demo-plan';
import { ManagedProcess, ProcessGroup } from './processes';

const BACKEND_READY_TIMEOUT_MS = 10_000;
const BACKEND_SCRIPT = path.join(__dirname, 'backend.js');

export async function startBackend(
  group: ProcessGroup,
  backend: PlannedBackend,
  logDir: string,
): Promise<ManagedProcess> {
  const { cluster, service, version, port } = backend.identity;
  const logFile = path.join(logDir, `backend-${cluster}-${port}.log`);
  const logFd = fs.openSync(logFile, 'a');
  const args = [
    BACKEND_SCRIPT,
    '--cluster',
    cluster,
    '--service',
    service,
    '--version',
    version,
    '--host',
    backend.host,
    '--port',
    String(port),
    '--exit-with-parent',
    'yes',
  ];
  // stdin is a pipe only so the backend notices when the demo dies, however it dies.
  const managed = group.spawn(`backend ${describeBackend(backend)}`, process.execPath, args, {
    stdio: ['pipe', 'pipe', logFd],
  });
  fs.closeSync(logFd);
  try {
    await managed.waitForLine(BACKEND_READY_LINE, BACKEND_READY_TIMEOUT_MS);
  } catch (error) {
    await managed.stop('SIGKILL');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}; its log: ${logFile}`);
  }
  return managed;
}
