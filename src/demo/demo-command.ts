// `spillway demo [flags]`: flags -> runDemo. Returns the exit code, so main.ts only needs one line.
import { FlagSpec, SwitchFlag, flagHelp, parseFlags } from '../flags/flags';
import { LOG_LEVELS, LogLevel } from '../log';
import { DEFAULT_REQUESTS_PER_SECOND, defaultWorkDir, runDemo } from './run-demo';
import { MAX_REQUESTS_PER_SECOND } from './traffic';

export const DEMO_FLAGS: FlagSpec[] = [
  {
    name: 'duration-s',
    value: 'N',
    help: 'stop by itself N seconds after everything is up (default: run until Ctrl-C)',
  },
  {
    name: 'rps',
    value: 'N',
    help: `requests per second sent through the sidecar, 0 for none (max ${MAX_REQUESTS_PER_SECOND})`,
    default: String(DEFAULT_REQUESTS_PER_SECOND),
  },
  { name: 'work-dir', value: 'DIR', help: 'mesh copy, Envoy bootstraps and logs', default: defaultWorkDir() },
  { name: 'log-level', value: 'LEVEL', help: 'level of the Spillway log file in the work dir', default: 'info' },
  {
    name: 'story',
    value: 'yes|no',
    help: 'tell the failover story (kill, spill, recover, canary) once everything is up',
    default: 'yes',
  },
];

/** `--once`, or DEMO_ONCE=1 in the environment; its help (two lines) is written out in DEMO_USAGE. */
const ONCE_FLAG: SwitchFlag = { name: 'once', switch: true, help: 'tell the story once and stop' };

export const DEMO_USAGE = `Usage: spillway demo [flags]

Runs transparent multi-cluster failover live on this machine, on loopback: Spillway on the embedded example
mesh, a backend process per mesh endpoint, a real Envoy gateway per cluster, a real Envoy sidecar in east on
127.0.0.1:15001 and a few requests per second through it. Needs Envoy (make setup, or ENVOY_BIN) and the
fixed ports of the example mesh (15010, 15014, 15001, 15443 on 127.0.0.2-4, 18081-18086).

${flagHelp(DEMO_FLAGS)}
  --once                        tell the story once and stop; exit 0 only if every step was observed
                                (the same as DEMO_ONCE=1; non-zero names the failed step)
`;

function usageError(message: string): number {
  process.stderr.write(`spillway demo: ${message} (see spillway demo --help)\n`);
  return 2;
}

/** DEMO_ONCE=1 (or true/yes) in the environment, as `make demo DEMO_ONCE=1` passes it. */
export function onceFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'true', 'yes'].includes((env.DEMO_ONCE ?? '').toLowerCase());
}

export async function runDemoCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseFlags(argv, [...DEMO_FLAGS, ONCE_FLAG]);
  if (!parsed.ok) return usageError(parsed.error);
  const once = parsed.flags.has(ONCE_FLAG.name) || onceFromEnvironment(env);
  if (parsed.flags.has('help')) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  if (parsed.positional.length > 0) return usageError(`unexpected argument "${parsed.positional[0]}"`);
  const durationText = parsed.flags.get('duration-s');
  const durationS = durationText === undefined ? undefined : Number(durationText);
  if (durationS !== undefined && !(Number.isFinite(durationS) && durationS > 0))
    return usageError(`--duration-s "${durationText}" is not a positive number of seconds`);
  const rps = Number(parsed.flags.get('rps'));
  if (!(Number.isFinite(rps) && rps >= 0 && rps <= MAX_REQUESTS_PER_SECOND))
    return usageError(`--rps "${parsed.flags.get('rps')}" is not a number from 0 to ${MAX_REQUESTS_PER_SECOND}`);
  const logLevel = parsed.flags.get('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    return usageError(`--log-level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const storyText = parsed.flags.get('story');
  if (storyText !== 'yes' && storyText !== 'no') return usageError(`--story "${storyText}" is not yes or no`);
  if (once && storyText === 'no') return usageError('--once (DEMO_ONCE) tells the story: it cannot go with --story no');
  return runDemo({
    durationS,
    requestsPerSecond: rps,
    workDir: parsed.flags.get('work-dir'),
    logLevel,
    story: storyText === 'yes',
    once,
  });
}
