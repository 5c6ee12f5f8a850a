// What one unauthenticated xDS client may make the server hold, log or show, with the `serve` flag that
// sets each bound (docs/OPERATIONS.md, "xDS client limits"). A client over a bound gets RESOURCE_EXHAUSTED
// (or INVALID_ARGUMENT for a node) with a short message that names the flag.

export interface ClientLimits {
  /** UTF-8 bytes of the resource names one stream subscribes to for one type. */
  maxNamesBytesPerType: number;
  /** The same, summed over the types of one stream. */
  maxNamesBytesPerStream: number;
  /** Distinct subscribed name sets, server-wide (clients asking for the same names share one set). */
  maxNamesBytesTotal: number;
  /** The whole Node message of a stream's first request. */
  maxNodeBytes: number;
  /** Node metadata (a Struct; Istio's is 10-20 KB). */
  maxNodeMetadataBytes: number;
  /** Each of node id, cluster, user agent name and version. */
  maxNodeFieldBytes: number;
  /** NACK error text kept and logged (longer text is cut, saying so). */
  maxNackMessageChars: number;
}

/**
 * Sized for real proxies with a wide margin: 20,000 EDS names of ~100 bytes are 2 MB; 10,000 proxies in a
 * few dozen views hold a few MB of distinct name sets (a view's proxies share one); an Istio node is
 * 10-20 KB. Each byte of distinct names costs the server about three (the strings, the wire form an ACK is
 * compared with, the encoded EDS answer), so the total bounds what hostile clients can pin to ~100 MB.
 */
export const DEFAULT_CLIENT_LIMITS: Readonly<ClientLimits> = {
  maxNamesBytesPerType: 4 * 1024 * 1024,
  maxNamesBytesPerStream: 8 * 1024 * 1024,
  maxNamesBytesTotal: 32 * 1024 * 1024,
  maxNodeBytes: 128 * 1024,
  maxNodeMetadataBytes: 64 * 1024,
  maxNodeFieldBytes: 1024,
  maxNackMessageChars: 4096,
};

/** The `spillway serve` flag of each limit, named in the status a client gets when it hits it. */
export const CLIENT_LIMIT_FLAGS: Readonly<Record<keyof ClientLimits, string>> = {
  maxNamesBytesPerType: 'xds-max-names-bytes-per-type',
  maxNamesBytesPerStream: 'xds-max-names-bytes-per-stream',
  maxNamesBytesTotal: 'xds-max-names-bytes-total',
  maxNodeBytes: 'xds-max-node-bytes',
  maxNodeMetadataBytes: 'xds-max-node-metadata-bytes',
  maxNodeFieldBytes: 'xds-max-node-field-bytes',
  maxNackMessageChars: 'xds-max-nack-message-chars',
};

/** The defaults, with the limits that are given in `overrides` (undefined ones keep their default). */
export function clientLimitsWith(overrides: Partial<ClientLimits> = {}): ClientLimits {
  const limits: ClientLimits = { ...DEFAULT_CLIENT_LIMITS };
  for (const key of Object.keys(limits) as (keyof ClientLimits)[]) {
    const value = overrides[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

/** A client went over a bound: its stream ends with RESOURCE_EXHAUSTED and this message. */
export class ClientLimitError extends Error {}

/** Fixed bounds (not flags): a proxy never comes near them. */
export const MAX_NAMES_PER_TYPE = 20_000;
export const MAX_NAME_LENGTH_CHARS = 2_048;
