// The kind of xDS stream a client opened: view resolution may depend on it (on-demand configuration needs
// delta xDS over ADS), and the server reports it.

export type StreamMode = 'sotw' | 'delta';

/** The stream a view is resolved for. */
export interface StreamKind {
  mode: StreamMode;
  /** The aggregated service (all types on one stream), not a per-type one. */
  ads: boolean;
}
