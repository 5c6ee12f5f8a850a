// `npm run bench` options, read by the shared flag parser: defaults, --quick, lists, --workload pods and
// what is refused.
import { parseOptions } from '../../bench/options';
import { parseCalibrateOptions } from '../../bench/calibrate/options';

describe('bench options', () => {
  test('defaults and --quick', () => {
    const full = parseOptions([]);
    expect(full).toMatchObject({
      quick: false,
      services: [100, 1000],
      clients: [1000, 5000, 10000],
      output: 'docs/BENCHMARKS.md',
      cachedPeersOnly: false,
      mode: 'sotw',
    });
    expect(parseOptions(['--quick'])).toMatchObject({
      quick: true,
      services: [50],
      clients: [100],
      cachedPeersOnly: true,
      output: 'dist/bench/BENCHMARKS-quick.md',
    });
  });

  test('lists, "0" for none, numbers, servers, mode and --out (the plot beside it)', () => {
    const options = parseOptions([
      '--services',
      '100',
      '--clients=1000,5000',
      '--grpc-clients',
      '0',
      '--reps',
      '3',
      '--servers',
      'spillway,istiod',
      '--mode',
      'delta',
      '--out',
      '/tmp/b.md',
      '--cached-peers',
    ]);
    expect(options).toMatchObject({
      services: [100],
      clients: [1000, 5000],
      grpcClients: [],
      repetitions: 3,
      servers: ['spillway', 'istiod'],
      mode: 'delta',
      output: '/tmp/b.md',
      plot: '/tmp/b-push-p99.svg',
      cachedPeersOnly: true,
    });
  });

  test('--workload pods runs Spillway alone into its own report', () => {
    expect(parseOptions(['--workload', 'pods', '--pod-clients', '50'])).toMatchObject({
      clients: [],
      servers: ['spillway'],
      podClients: [50],
      output: 'dist/bench/BENCHMARKS-pods.md',
    });
  });

  test('what is refused, with the usage', () => {
    expect(() => parseOptions(['--bogus', '1'])).toThrow(/^unknown flag --bogus\nnpm run bench/);
    expect(() => parseOptions(['--reps'])).toThrow(/^flag --reps needs a value\n/);
    expect(() => parseOptions(['--reps', '0'])).toThrow('--reps wants positive integers, got "0"');
    expect(() => parseOptions(['--mode', 'both'])).toThrow('--mode is sotw or delta');
    expect(() => parseOptions(['--servers', 'envoy'])).toThrow(/unknown server\(s\) envoy/);
    expect(() => parseOptions(['--help'])).toThrow(/^npm run bench/);
    expect(() => parseOptions(['-h'])).toThrow(/^npm run bench/);
  });
});

describe('bench:calibrate options', () => {
  test('defaults, values, switches and refusals', () => {
    expect(parseCalibrateOptions([])).toMatchObject({
      services: 100,
      maxClients: 300,
      memoryShare: 0.4,
      servers: ['spillway'],
      pin: false,
      output: 'dist/bench/CALIBRATION.md',
    });
    expect(
      parseCalibrateOptions([
        '--clients',
        '20',
        '--memory-share=0.5',
        '--servers',
        'spillway,istiod',
        '--pin',
        '--out',
        'x.md',
      ]),
    ).toMatchObject({
      clients: 20,
      memoryShare: 0.5,
      servers: ['spillway', 'istiod'],
      pin: true,
      output: 'x.md',
    });
    expect(() => parseCalibrateOptions(['--memory-share', '1'])).toThrow(
      '--memory-share wants a number in (0, 0.9], got "1"',
    );
    expect(() => parseCalibrateOptions(['--reps', 'two'])).toThrow('--reps wants a positive integer, got "two"');
    expect(() => parseCalibrateOptions(['--nope'])).toThrow(/^unknown flag --nope\nnpm run bench:calibrate/);
  });
});
