// Command-line flags of every Spillway program (`spillway`, the demo backend, the traffic generator):
// `--name value`, `--name=value`, bare switches and repeatable flags, split by Node's util.parseArgs.
// parseArgs runs non-strict, with tokens: its strict mode refuses a value that starts with '-' (`--rps -1`,
// which deserves our range error instead) and words its errors its own way, so the checks are made here.
import { parseArgs } from 'util';

/** A flag that takes a value: `--mesh FILE`. */
export interface ValueFlag {
  name: string;
  /** What the value is, in --help: FILE, MS, HOST:PORT. */
  value: string;
  help: string;
  default?: string;
  /** May be given several times (`--fail east --fail west`); every value is kept, in order. */
  multiple?: boolean;
}

/** A flag without a value: `--json`. */
export interface SwitchFlag {
  name: string;
  switch: true;
  help: string;
}

export type FlagSpec = ValueFlag | SwitchFlag;

/** What was given, defaults filled in. */
export class FlagValues {
  constructor(
    private readonly values: ReadonlyMap<string, readonly string[]>,
    private readonly switches: ReadonlySet<string>,
  ) {}

  /** The (last) value of a value flag, or its default; undefined when neither. */
  get(name: string): string | undefined {
    const values = this.values.get(name);
    return values?.[values.length - 1];
  }

  /** Whether a value flag has a value (given or default), or a switch (or --help) was given. */
  has(name: string): boolean {
    return this.values.has(name) || this.switches.has(name);
  }

  /** Every value of a repeatable flag, in the order given. */
  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }
}

export type ParsedFlags = { ok: true; flags: FlagValues; positional: string[] } | { ok: false; error: string };

/** `--help` is known to every program. */
const HELP = 'help';

function isSwitch(spec: FlagSpec): spec is SwitchFlag {
  return 'switch' in spec;
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const known = new Map(specs.map((spec) => [spec.name, spec]));
  const options = Object.fromEntries(
    specs.map((spec) => [spec.name, { type: isSwitch(spec) ? ('boolean' as const) : ('string' as const) }]),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...options, [HELP]: { type: 'boolean' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  const positional: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positional.push(token.value);
    if (token.kind !== 'option') continue;
    if (token.name === HELP) {
      switches.add(HELP);
      continue;
    }
    const spec = known.get(token.name);
    // rawName keeps what was typed: `-x` stays `-x`, not `--x`.
    if (!spec) return { ok: false, error: `unknown flag ${token.rawName} (see --help)` };
    if (isSwitch(spec)) {
      if (token.value !== undefined) return { ok: false, error: `flag --${spec.name} takes no value` };
      switches.add(spec.name);
      continue;
    }
    if (token.value === undefined) return { ok: false, error: `flag --${spec.name} needs a value` };
    const given = values.get(spec.name);
    if (given && spec.multiple) given.push(token.value);
    else values.set(spec.name, [token.value]);
  }
  for (const spec of specs)
    if (!isSwitch(spec) && !values.has(spec.name) && spec.default !== undefined) values.set(spec.name, [spec.default]);
  return { ok: true, flags: new FlagValues(values, switches), positional };
}

/** Help column where the text starts. */
const HELP_COLUMN = 30;

export function flagHelp(specs: readonly FlagSpec[]): string {
  return specs
    .map((spec) => {
      const head = isSwitch(spec) ? `  --${spec.name}` : `  --${spec.name} ${spec.value}`;
      const fallback = !isSwitch(spec) && spec.default !== undefined ? ` (default ${spec.default})` : '';
      // Long flags would run into their help text: keep at least one space.
      return (head.length >= HELP_COLUMN ? `${head} ` : head.padEnd(HELP_COLUMN)) + spec.help + fallback;
    })
    .join('\n');
}
