// One stream's logger: a pino child per stream, made when first needed or when the client is known,
// because thousands of streams connect at once and every child costs time and memory.
import type { Logger } from 'pino';
import { ClientRole } from '../node/node-info';
import { StreamMode } from '../node/stream-kind';

export class StreamLog {
  private logger?: Logger;

  constructor(
    private readonly parent: Logger,
    private readonly fields: { readonly stream: number; readonly mode: StreamMode; readonly service: string },
  ) {}

  get log(): Logger {
    this.logger ??= this.parent.child({ ...this.fields });
    return this.logger;
  }

  /** From now on every line names the client. */
  identify(client: { nodeId: string; clusterId: string; role: ClientRole }): void {
    this.logger = this.parent.child({
      ...this.fields,
      node: client.nodeId,
      cluster: client.clusterId,
      role: client.role,
    });
  }
}
