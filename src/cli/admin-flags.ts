// The flags every command that reads a running `spillway serve` shares (status, clients, scope, what-if,
// drill): where its admin server is (--admin) and --json, parsed and checked in one place.
import { FlagSpec, FlagValues, SwitchFlag, ValueFlag, flagHelp, parseFlags } from '../flags/flags';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:15014';

export const ADMIN_FLAG: ValueFlag = {
  name: 'admin',
  value: 'URL',
  help: 'admin server of spillway serve (HOST:PORT works too)',
  default: DEFAULT_ADMIN_URL,
};
const JSON_FLAG: SwitchFlag = { name: 'json', switch: true, help: "print the admin server's JSON as is" };

/** `--admin` value -> base URL; a bare HOST:PORT (what `serve --admin` takes) means http. */
export function adminBaseUrl(text: string): URL | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'http:') return undefined;
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return url;
  } catch {
    return undefined;
  }
}

export interface AdminCommandArgs {
  /** The admin server's base URL, ending in '/'. */
  base: URL;
  json: boolean;
  flags: FlagValues;
  positional: string[];
}

/**
 * Parses a command's flags (`specs`, besides --json; include ADMIN_FLAG). Prints --help (`usage`, then the
 * flags) or what is wrong and returns the exit code then; otherwise the admin URL and the flags.
 */
export function parseAdminCommand(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  usage: string,
): AdminCommandArgs | number {
  const parsed = parseFlags(argv, [...specs, JSON_FLAG]);
  if (!parsed.ok) {
    process.stderr.write(`spillway: ${parsed.error}\n`);
    return 2;
  }
  if (parsed.flags.has('help')) {
    process.stdout.write(`${usage}\n\n${flagHelp([...specs, JSON_FLAG])}\n`);
    return 0;
  }
  const adminText = parsed.flags.get(ADMIN_FLAG.name) ?? DEFAULT_ADMIN_URL;
  const base = adminBaseUrl(adminText);
  if (!base) {
    process.stderr.write(`spillway: --admin "${adminText}" is not an http URL or HOST:PORT\n`);
    return 2;
  }
  return { base, json: parsed.flags.has(JSON_FLAG.name), flags: parsed.flags, positional: parsed.positional };
}
