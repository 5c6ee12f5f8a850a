// A tiny flag parser: `--name value` and `--name=value`, with a clear error for anything unknown.

export interface FlagSpec {
  name: string;
  value: string;
  help: string;
  default?: string;
}

export type ParsedFlags = { ok: true; flags: Map<string, string>; positional: string[] } | { ok: false; error: string };

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const known = new Map(specs.map((s) => [s.name, s]));
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [rawName, inlineValue] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (rawName === 'help') {
      flags.set('help', 'true');
      continue;
    }
    if (!known.has(rawName)) return { ok: false, error: `unknown flag --${rawName} (see --help)` };
    const value = inlineValue ?? argv[++i];
    if (value === undefined) return { ok: false, error: `flag --${rawName} needs a value` };
    flags.set(rawName, value);
  }
  for (const spec of specs) if (!flags.has(spec.name) && spec.default !== undefined) flags.set(spec.name, spec.default);
  return { ok: true, flags, positional };
}

export function flagHelp(specs: readonly FlagSpec[]): string {
  return specs
    .map((s) => {
      const head = `  --${s.name} ${s.value}`;
      // Long flags would run into their help text: keep at least one space.
      return (head.length >= 30 ? `${head} ` : head.padEnd(30)) + s.help + (s.default !== undefined ? ` (default ${s.default})` : '');
    })
    .join('\n');
}

export { parseHostPort } from '../net/host-port';
