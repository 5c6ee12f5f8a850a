// The flag parser every Spillway program uses (src/flags/flags.ts, on Node's util.parseArgs): forms it
// takes, its errors in our words, defaults, switches, repeated flags and the --help layout.
import { FlagSpec, flagHelp, parseFlags } from '../../src/flags/flags';
import { positiveWholeNumber, wholeNumberFromZero } from '../../src/flags/flag-numbers';

const SPECS: FlagSpec[] = [
  { name: 'mesh', value: 'FILE', help: 'mesh file' },
  { name: 'rps', value: 'N', help: 'requests per second', default: '4' },
  { name: 'fail', value: 'CLUSTER', help: 'what fails', multiple: true },
  { name: 'json', switch: true, help: 'print JSON' },
];

function parsed(argv: string[]) {
  const result = parseFlags(argv, SPECS);
  if (!result.ok) throw new Error(result.error);
  return result;
}

describe('parseFlags', () => {
  test('--name value, --name=value, positionals and defaults', () => {
    const { flags, positional } = parsed(['validate', '--mesh', 'm.yaml', 'extra', '--rps=7']);
    expect(flags.get('mesh')).toBe('m.yaml');
    expect(flags.get('rps')).toBe('7');
    expect(positional).toEqual(['validate', 'extra']);
    expect(parsed([]).flags.get('rps')).toBe('4');
    expect(parsed([]).flags.has('mesh')).toBe(false);
  });

  test('a value may start with a dash (the range check words its error), and = keeps the rest', () => {
    expect(parsed(['--rps', '-1']).flags.get('rps')).toBe('-1');
    expect(parsed(['--mesh=a=b']).flags.get('mesh')).toBe('a=b');
  });

  test('switches, --help, repeated flags; the last value of a single flag wins', () => {
    const { flags } = parsed([
      '--json',
      '--fail',
      'east',
      '--fail=west/checkout.shop',
      '--rps',
      '1',
      '--rps',
      '2',
      '--help',
    ]);
    expect(flags.has('json')).toBe(true);
    expect(flags.has('help')).toBe(true);
    expect(flags.all('fail')).toEqual(['east', 'west/checkout.shop']);
    expect(flags.get('rps')).toBe('2');
    expect(parsed([]).flags.has('json')).toBe(false);
    expect(parsed([]).flags.all('fail')).toEqual([]);
  });

  test('after --, everything is positional', () => {
    expect(parsed(['--', '--json']).positional).toEqual(['--json']);
  });

  test('errors say what is wrong in our words', () => {
    expect(parseFlags(['--mesch', 'm.yaml'], SPECS)).toEqual({ ok: false, error: 'unknown flag --mesch (see --help)' });
    expect(parseFlags(['-x'], SPECS)).toEqual({ ok: false, error: 'unknown flag -x (see --help)' });
    expect(parseFlags(['--mesh'], SPECS)).toEqual({ ok: false, error: 'flag --mesh needs a value' });
    expect(parseFlags(['--json=yes'], SPECS)).toEqual({ ok: false, error: 'flag --json takes no value' });
  });

  test('help: one line per flag, the text at column 30, defaults said', () => {
    expect(flagHelp(SPECS).split('\n')).toEqual([
      '  --mesh FILE                 mesh file',
      '  --rps N                     requests per second (default 4)',
      '  --fail CLUSTER              what fails',
      '  --json                      print JSON',
    ]);
    expect(flagHelp([{ name: 'a-very-long-flag-name', value: 'BYTES', help: 'x' }])).toBe(
      '  --a-very-long-flag-name BYTES x',
    );
  });
});

describe('flag numbers', () => {
  test('whole numbers with their bounds, errors naming the flag', () => {
    expect(positiveWholeNumber('n', '3')).toEqual({ ok: true, value: 3 });
    expect(positiveWholeNumber('n', '0')).toEqual({ ok: false, error: '--n "0" is not a positive whole number' });
    expect(positiveWholeNumber('n', '1.5')).toEqual({ ok: false, error: '--n "1.5" is not a positive whole number' });
    expect(wholeNumberFromZero('n', '0')).toEqual({ ok: true, value: 0 });
    expect(wholeNumberFromZero('n', '-1')).toEqual({ ok: false, error: '--n "-1" is not a whole number >= 0' });
  });
});
