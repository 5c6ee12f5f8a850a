// The `serve` flags bounding what one xDS client may make the server hold, log or show
// (src/xds/server/client-limits.ts; docs/OPERATIONS.md, "xDS client limits").
import { CLIENT_LIMIT_FLAGS, ClientLimits, DEFAULT_CLIENT_LIMITS } from '../xds/server/client-limits';
import { FlagSpec } from '../flags/flags';

const HELP: Record<keyof ClientLimits, string> = {
  maxNamesBytesPerType: 'bytes of resource names one stream may subscribe to for one type',
  maxNamesBytesPerStream: 'bytes of resource names one stream may subscribe to, all types together',
  maxNamesBytesTotal:
    'bytes of distinct subscribed name sets server-wide (clients asking for the same names share one)',
  maxNodeBytes: 'largest node (whole Node message) of a stream; a bigger one is refused with RESOURCE_EXHAUSTED',
  maxNodeMetadataBytes: 'largest node metadata',
  maxNodeFieldBytes: 'largest node id, cluster, user agent name and version',
  maxNackMessageChars: 'NACK error text kept and logged per NACK (longer text is cut, saying so)',
};

const KEYS = Object.keys(DEFAULT_CLIENT_LIMITS) as (keyof ClientLimits)[];

export const XDS_CLIENT_LIMIT_FLAGS: FlagSpec[] = KEYS.map((key) => ({
  name: CLIENT_LIMIT_FLAGS[key],
  value: key === 'maxNackMessageChars' ? 'CHARS' : 'BYTES',
  help: HELP[key],
  default: String(DEFAULT_CLIENT_LIMITS[key]),
}));

/** The limits from parsed flags (`value(flagName)` parses and checks one). */
export function xdsClientLimits(value: (flagName: string) => number): ClientLimits {
  const limits: ClientLimits = { ...DEFAULT_CLIENT_LIMITS };
  for (const key of KEYS) limits[key] = value(CLIENT_LIMIT_FLAGS[key]);
  return limits;
}
