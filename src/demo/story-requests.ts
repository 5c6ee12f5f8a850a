// Counted requests for the story: a batch sent through the sidecar a few at a time, each answer tallied by
// the backend identity it carries.
import * as http from 'http';
import { BACKEND_IDENTITY_HEADER, parseIdentity } from './backend-identity';
import { httpGet } from './http-get';
import { Answer, Sample, tallyAnswers } from './story-sample';

const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 3_000;

export class CountedRequests {
  // Keep-alive, like an app: the sidecar's connection pool, not connection setup, is what is measured.
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  constructor(
    private readonly url: string,
    private readonly hostHeader: string,
  ) {}

  async send(count: number, headers: Record<string, string> = {}): Promise<Sample> {
    const answers: Answer[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        answers.push(await this.one(headers));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
    return tallyAnswers(answers);
  }

  close(): void {
    this.agent.destroy();
  }

  private async one(headers: Record<string, string>): Promise<Answer> {
    try {
      const response = await httpGet(this.url, {
        headers: { host: this.hostHeader, ...headers },
        agent: this.agent,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      const identity = parseIdentity(response.headers[BACKEND_IDENTITY_HEADER] as string | undefined);
      if (response.status === 200 && identity) return { identity };
      return { failure: String(response.status) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        failure: message.includes('timed out') ? 'timeout' : ((error as NodeJS.ErrnoException).code ?? 'error'),
      };
    }
  }
}
