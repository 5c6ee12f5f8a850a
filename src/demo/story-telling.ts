// The story told in the running demo: the driver that acts on it (counted requests through the sidecar,
// the client cluster's backends killed and restarted, what-if and drills over the admin API) and the
// verdict a `once` run exits with.
import { BackendFleet } from './backend-fleet';
import { DEMO_SERVICE_HOST } from './demo-plan';
import { adminPredictDriver } from './predict-steps';
import { StoryCast, StoryResult, runStory } from './story';
import { CountedRequests } from './story-requests';

export interface StoryTellingOptions {
  cast: StoryCast;
  backends: BackendFleet;
  sidecarUrl: string;
  adminUrl: string;
  print: (line: string) => void;
  /** True once the demo is stopping: the story gives up without calling it a failure. */
  stopping: () => boolean;
}

export class StoryTelling {
  private readonly counted: CountedRequests;
  private passedEveryStep = false;
  private failedBecause?: string;

  constructor(private readonly options: StoryTellingOptions) {
    this.counted = new CountedRequests(options.sidecarUrl, DEMO_SERVICE_HOST);
  }

  /** True once the story ran to its end with every step observed. */
  get passed(): boolean {
    return this.passedEveryStep;
  }

  /** Why the story failed, when it failed on its own (not stopped): the step and the reason. */
  get failure(): string | undefined {
    return this.failedBecause;
  }

  async tell(): Promise<StoryResult> {
    const { options } = this;
    let result: StoryResult;
    try {
      result = await runStory(options.cast, {
        send: (count, headers) => this.counted.send(count, headers),
        kill: (versions) => options.backends.killClientBackends(versions),
        restart: () => options.backends.restartStopped(),
        // Lines from a story still unwinding after Ctrl-C would only confuse the stop messages.
        print: (line) => {
          if (!options.stopping()) options.print(line);
        },
        stopping: options.stopping,
        predict: adminPredictDriver(options.adminUrl),
      });
    } catch (error) {
      result = {
        passed: false,
        failedStep: 'the story itself',
        reason: error instanceof Error ? error.message : String(error),
      };
    }
    this.passedEveryStep = result.passed;
    if (!options.stopping() && !result.passed && !('stopped' in result))
      this.failedBecause = `story failed at ${result.failedStep}: ${result.reason}`;
    return result;
  }

  close(): void {
    this.counted.close();
  }
}
