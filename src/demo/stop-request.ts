// The demo's one stop. Whoever asks first (a signal, `q`, --duration-s, the end of a `once` story, the
// shutdown itself) gives the reason; everything that must end waits on `requested`.
export class StopRequest {
  private why?: string;
  private resolve: (reason: string) => void = () => undefined;
  readonly requested = new Promise<string>((resolve) => {
    this.resolve = resolve;
  });

  /** Why the demo stops; undefined while it runs. */
  get reason(): string | undefined {
    return this.why;
  }

  request(reason: string): void {
    if (this.why) return;
    this.why = reason;
    this.resolve(reason);
  }
}

/**
 * SIGINT and SIGTERM ask for the stop; a second one means the user does not want to wait: `forceNow`
 * (kill the children) and exit 130. Returns the function that removes the handlers.
 */
export function stopOnSignals(stop: StopRequest, forceNow: () => void, say: (line: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.reason) {
      forceNow();
      process.exit(130);
    }
    say(`\n${signal}: stopping everything (send it again to force)`);
    stop.request(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
