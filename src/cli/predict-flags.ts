// `serve` flags of what-if and drills, and the options they make.
import { DEFAULT_ADMIN_MAX_BODY_BYTES, readTokenFile } from '../admin/admin-post';
import { DEFAULT_WHAT_IF_MAX_FAILURES } from '../admin/what-if-route';
import { DEFAULT_DRILL_MAX_DURATION_MS } from '../drill/drill-manager';
import type { SpillwayServerOptions } from '../composition-root';
import { FlagSpec } from '../flags/flags';

export const PREDICT_FLAGS: FlagSpec[] = [
  {
    name: 'admin-token-file',
    value: 'FILE',
    help: 'token (one line, 16+ characters) that admin POSTs (drills) must send as Authorization: Bearer; without it only loopback callers may POST',
  },
  {
    name: 'admin-max-body-bytes',
    value: 'BYTES',
    help: 'largest admin POST body read',
    default: String(DEFAULT_ADMIN_MAX_BODY_BYTES),
  },
  {
    name: 'drill-max-duration-s',
    value: 'S',
    help: 'longest drill accepted (one runs at a time)',
    default: String(DEFAULT_DRILL_MAX_DURATION_MS / 1000),
  },
  {
    name: 'what-if-max-failures',
    value: 'N',
    help: 'fail= parameters one what-if may name',
    default: String(DEFAULT_WHAT_IF_MAX_FAILURES),
  },
];

/** The server options of these flags; `positive` rejects a bad number, `fail` a bad token file. */
export function predictOptions(
  flag: (name: string) => string | undefined,
  positive: (name: string) => number,
  fail: (message: string) => never,
): NonNullable<SpillwayServerOptions['predict']> {
  const tokenFile = flag('admin-token-file');
  let adminToken: string | undefined;
  if (tokenFile) {
    try {
      adminToken = readTokenFile(tokenFile);
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
  }
  return {
    adminToken,
    maxBodyBytes: positive('admin-max-body-bytes'),
    drillMaxDurationMs: positive('drill-max-duration-s') * 1000,
    whatIfMaxFailures: positive('what-if-max-failures'),
  };
}
