// `npm pack` yields a package whose `spillway` bin works after a global install, with nothing from the
// repository but the tarball: --help, validate on the example mesh, and serve up to listening (which loads
// the Envoy protos from the @grpc/grpc-js-xds dependency). dist/ is built before the suite runs, so the
// pack skips the prepack build (--ignore-scripts) and never rewrites dist/ under other tests.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot, testOutputDir, waitFor } from '../harness';

jest.setTimeout(60_000);

const ROOT = repoRoot();
const OUTPUT = testOutputDir('npm-pack');

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 45_000 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

let prefix: string;
let bin: string;
let packedFiles: string[];

beforeAll(() => {
  fs.rmSync(OUTPUT, { recursive: true, force: true });
  fs.mkdirSync(OUTPUT, { recursive: true });
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', OUTPUT], ROOT)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = path.join(OUTPUT, packed[0]?.filename ?? '?');
  packedFiles = (packed[0]?.files ?? []).map((f) => f.path);
  prefix = path.join(OUTPUT, 'global');
  // The registry is reached only for the runtime dependencies, as a user's install would.
  run('npm', ['install', '-g', tarball, '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline'], OUTPUT);
  bin = path.join(prefix, 'bin', 'spillway');
});

test('the tarball holds the compiled CLI and the example mesh, not the tests or the sources', () => {
  expect(packedFiles).toEqual(
    expect.arrayContaining([
      'package.json',
      'README.md',
      'dist/src/cli/main.js',
      'dist/src/demo/backend.js',
      'examples/mesh.yaml',
    ]),
  );
  expect(
    packedFiles.filter(
      (file) => file.startsWith('dist/test/') || file.startsWith('dist/bench/') || /^src\/.*\.ts$/.test(file),
    ),
  ).toEqual([]);
});

test('the installed bin prints help and validates the example mesh from any directory', () => {
  expect(run(bin, ['--help'], OUTPUT)).toContain('spillway serve');
  expect(run(bin, ['validate', path.join(ROOT, 'examples', 'mesh.yaml')], OUTPUT)).toContain(
    'ok (3 clusters, 2 services, 6 endpoints)',
  );
});

test('the installed bin serves xDS (the Envoy protos load from its dependencies) and stops on SIGTERM', async () => {
  const child = spawn(bin, ['serve', '--xds', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-format', 'json'], {
    cwd: OUTPUT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(async () => output.includes('xDS server listening') && output.includes('admin server listening'), {
      timeoutMs: 15_000,
      what: `the installed spillway to listen:\n${output}`,
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
});
