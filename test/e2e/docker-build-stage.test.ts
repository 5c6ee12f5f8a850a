// The image's build stage, run without a container engine: only what the Dockerfile's build stage
// COPYs from the context goes into an empty folder (with this checkout's node_modules in place of its
// `npm ci` of the same lock file), then its RUN line runs there. It must produce the server and the
// page bundle: a missing input (a script, a generated file, a config) fails here, not in someone's build.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../harness/paths';
import { testOutputDir } from '../harness/output';

jest.setTimeout(240_000);

function buildStage(dockerfile: string): string[] {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim());
  const start = lines.findIndex((line) => /^FROM .* AS build$/i.test(line));
  const end = lines.findIndex((line, index) => index > start && /^FROM\s/i.test(line));
  return lines.slice(start + 1, end).filter((line) => line !== '' && !line.startsWith('#'));
}

test("the Dockerfile's build stage builds the server and the page from only what it copies", () => {
  const root = repoRoot();
  const stage = buildStage(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  const work = path.join(testOutputDir('docker-build-stage'), 'src');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  for (const copy of stage.filter((line) => /^COPY\s/i.test(line))) {
    const parts = copy.split(/\s+/).slice(1);
    const target = parts[parts.length - 1];
    for (const source of parts.slice(0, -1)) {
      const destination = target.endsWith('/')
        ? path.join(work, target, path.basename(source))
        : path.join(work, target);
      fs.cpSync(path.join(root, source), destination, { recursive: true });
    }
  }
  // `RUN npm ci` installs the lock file's packages: this checkout's node_modules come from the same lock.
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'));
  const runs = stage
    .filter((line) => /^RUN\s/i.test(line) && !line.includes('npm ci'))
    .map((line) => line.replace(/^RUN\s+/i, ''));
  expect(runs.length).toBeGreaterThan(0);
  for (const command of runs) {
    const result = spawnSync('bash', ['-c', command], { cwd: work, encoding: 'utf8' });
    expect({ command, status: result.status, output: (result.stdout + result.stderr).slice(-2000) }).toEqual({
      command,
      status: 0,
      output: expect.any(String) as string,
    });
  }
  expect(fs.existsSync(path.join(work, 'dist', 'src', 'cli', 'main.js'))).toBe(true);
  expect(fs.existsSync(path.join(work, 'dist', 'src', 'admin', 'page', 'page-bundle.js'))).toBe(true);
});
