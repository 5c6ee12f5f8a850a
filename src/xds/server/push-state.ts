// What one stream knows about one resource type on the way to its client: whether the cache or the
// client's names changed since the last response, which response is out (its nonce and version) and
// whether the client answered it. An ACK or NACK names a nonce; only the newest one counts.

export class PushState {
  private lastNonce?: string;
  /** A response is out and neither ACKed nor NACKed: cache changes wait (the client gets the newest later). */
  private awaitingAck = false;
  /** The cache changed since the last response of this type. */
  private cacheChanged = false;
  /** The client changed what it subscribes to: answer even while a response is out. */
  private namesChanged = false;
  /** Whether any response of this type was sent on this stream. */
  private responded = false;
  /** Some content (a cluster removal) was held back until listeners and routes settle. */
  private deferred = false;
  /** Version of the last response sent (or found already held) on this stream. */
  private sentVersion?: string;
  /** When the oldest change not yet sent was first seen (for push latency). */
  private changeSeenAtMs?: number;

  get hasResponded(): boolean {
    return this.responded;
  }

  get isAwaitingAck(): boolean {
    return this.awaitingAck;
  }

  get isDeferred(): boolean {
    return this.deferred;
  }

  /** The version of the last response, '' before any. */
  get version(): string {
    return this.sentVersion ?? '';
  }

  /** Whether `version` is what the client was last sent. */
  sentExactly(version: string): boolean {
    return this.responded && version === this.sentVersion;
  }

  /** Something to send or to confirm. */
  get isUnsettled(): boolean {
    return this.awaitingAck || this.cacheChanged || this.namesChanged;
  }

  /** The cache changed (`atMs`: when first seen, for push latency). */
  markCacheChanged(atMs?: number): void {
    this.cacheChanged = true;
    if (atMs !== undefined) this.changeSeenAtMs ??= atMs;
  }

  markNamesChanged(): void {
    this.namesChanged = true;
  }

  /** Content was held back: this type is due again once `routesUnsettled` says routes settled. */
  defer(): void {
    this.deferred = true;
  }

  /** Whether a response of this type may go now (`routesUnsettled` releases held-back content). */
  isDue(routesUnsettled: () => boolean): boolean {
    const deferredDue = this.deferred && !routesUnsettled();
    if (!(this.cacheChanged || this.namesChanged || deferredDue)) return false;
    return !(this.awaitingAck && !this.namesChanged);
  }

  /** A response is being computed: what made it due is consumed. */
  beginResponse(): void {
    this.cacheChanged = false;
    this.namesChanged = false;
    this.deferred = false;
  }

  /** A response went out; returns when the change it carries was first seen. */
  recordSent(nonce: string, version: string): number | undefined {
    this.lastNonce = nonce;
    this.awaitingAck = true;
    this.responded = true;
    this.sentVersion = version;
    const seenAtMs = this.changeSeenAtMs;
    this.changeSeenAtMs = undefined;
    return seenAtMs;
  }

  /** The client already holds `version` (it said so when reconnecting): counts as sent, needs no ACK. */
  recordHeld(version: string): void {
    this.sentVersion = version;
    this.responded = true;
  }

  /** The client holds `version` now without a response (it dropped names and forgets them itself). */
  recordVersion(version: string): void {
    this.sentVersion = version;
  }

  /**
   * What a request's nonce says: `answer`, it answers the newest response (which is then no longer
   * awaited); `stale`, it answers an older one (its ACK or NACK is ignored); `none`, it answers nothing.
   */
  receiveNonce(nonce: string): 'answer' | 'stale' | 'none' {
    if (nonce && nonce === this.lastNonce) {
      this.awaitingAck = false;
      return 'answer';
    }
    return nonce && this.lastNonce ? 'stale' : 'none';
  }

  get latestNonce(): string {
    return this.lastNonce ?? '';
  }
}
