// Parses mesh text on a worker thread. A 50,000-service file takes seconds to parse and check (the YAML
// parser keeps every node's line for error messages); on the main thread that stalls health checks,
// admin and every xDS push for as long. One worker serves the whole process, one parse at a time. The
// worker parses incrementally (incremental-mesh-parser.ts): it keeps the last text's parsed batches of
// services, so a reload re-parses only what changed. `prime` hands it the cache of the parse done at start.
import { Worker, isMainThread, parentPort, workerData } from 'worker_threads';
import { IncrementalMeshParser, ParserCache } from './incremental-mesh-parser';
import { MeshParseResult } from './mesh-file';

const WORKER_ROLE = 'spillway-mesh-parser';

/** A text to parse, or a cache to go on from (no result is sent back for it). */
type ParseRequest = { id: number; text: string } | { id: number; cache: ParserCache };

interface ParseReply {
  id: number;
  result?: MeshParseResult;
  error?: string;
}

// In the worker: parse what the main thread sends, answer with the result (structured clone keeps Maps).
if (!isMainThread && (workerData as { role?: string } | undefined)?.role === WORKER_ROLE && parentPort) {
  const port = parentPort;
  const parser = new IncrementalMeshParser();
  port.on('message', (request: ParseRequest) => {
    let reply: ParseReply;
    try {
      if ('cache' in request) {
        parser.restore(request.cache);
        reply = { id: request.id };
      } else reply = { id: request.id, result: parser.parse(request.text) };
    } catch (error) {
      reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}

interface Pending {
  resolve: (result: MeshParseResult | undefined) => void;
  reject: (error: Error) => void;
  /** A parse keeps the process alive while it is out; priming is only worth it if the process lives on. */
  keepsAlive: boolean;
}

class MeshParser {
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private keepingAlive = 0;

  async parse(text: string): Promise<MeshParseResult> {
    const result = await this.send({ id: ++this.nextId, text });
    if (!result) throw new Error('the mesh parser sent no result');
    return result;
  }

  async prime(cache: ParserCache): Promise<void> {
    await this.send({ id: ++this.nextId, cache });
  }

  private send(request: ParseRequest): Promise<MeshParseResult | undefined> {
    const worker = this.start();
    const keepsAlive = 'text' in request;
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject, keepsAlive });
      if (keepsAlive && this.keepingAlive++ === 0) worker.ref();
      worker.postMessage(request);
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
      if (waiting.keepsAlive && --this.keepingAlive === 0) worker.unref();
      if (reply.error !== undefined) waiting.reject(new Error(`the mesh parser failed: ${reply.error}`));
      else waiting.resolve(reply.result);
    });
    const fail = (error: Error): void => {
      // A dead worker (out of memory, say) fails what was waiting; the next parse starts a new one.
      this.worker = undefined;
      this.keepingAlive = 0;
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

/** Hands the parser thread the cache of a parse done here, so the first reload after it is incremental. */
export function primeMeshParserOffThread(cache: ParserCache): Promise<void> {
  return parser.prime(cache);
}
