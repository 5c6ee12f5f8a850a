// Parses mesh text on a worker thread. A 50,000-service file takes seconds to parse and check (the YAML
// parser keeps every node's line for error messages); on the main thread that stalls health checks,
// admin and every xDS push for as long. One worker serves the whole process, one parse at a time.
import { Worker, isMainThread, parentPort, workerData } from 'worker_threads';
import { MeshParseResult, parseMeshText } from './mesh-file';

const WORKER_ROLE = 'spillway-mesh-parser';

interface ParseRequest {
  id: number;
  text: string;
}

interface ParseReply {
  id: number;
  result?: MeshParseResult;
  error?: string;
}

// In the worker: parse what the main thread sends, answer with the result (structured clone keeps Maps).
if (!isMainThread && (workerData as { role?: string } | undefined)?.role === WORKER_ROLE && parentPort) {
  const port = parentPort;
  port.on('message', (request: ParseRequest) => {
    let reply: ParseReply;
    try {
      reply = { id: request.id, result: parseMeshText(request.text) };
    } catch (error) {
      reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}

type Pending = { resolve: (result: MeshParseResult) => void; reject: (error: Error) => void };

class MeshParser {
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  parse(text: string): Promise<MeshParseResult> {
    const worker = this.start();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref(); // keep the process alive while a parse is out
      worker.postMessage({ id, text } satisfies ParseRequest);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(__filename, { workerData: { role: WORKER_ROLE } });
    worker.unref();
    worker.on('message', (reply: ParseReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.result) waiting.resolve(reply.result);
      else waiting.reject(new Error(`the mesh parser failed: ${reply.error ?? 'no result'}`));
    });
    const fail = (error: Error): void => {
      // A dead worker (out of memory, say) fails what was waiting; the next parse starts a new one.
      this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the mesh parser thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

const parser = new MeshParser();

/** parseMeshText off the main thread: same result, the event loop stays free meanwhile. */
export function parseMeshTextOffThread(text: string): Promise<MeshParseResult> {
  return parser.parse(text);
}
