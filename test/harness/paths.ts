// Where things live, resolved from the compiled file's location so tests work from any cwd.
import * as fs from 'fs';
import * as path from 'path';

let cachedRepoRoot: string | undefined;

/** The folder holding package.json, found by walking up from this (compiled) file. */
export function repoRoot(): string {
  if (cachedRepoRoot) return cachedRepoRoot;
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      cachedRepoRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${__dirname}`);
    dir = parent;
  }
}

/** The Envoy binary: ENVOY_BIN wins, else the copy the setup script installs into the repo venv. */
export function envoyBinaryPath(): string {
  return process.env.ENVOY_BIN ?? path.join(repoRoot(), '.cache', 'venv', 'bin', 'envoy');
}

/** Root folder of the project's own .proto files (imports are relative to it). */
export function protoRoot(): string {
  return path.join(repoRoot(), 'proto');
}

/** A compiled fixture script, e.g. fixturePath('http-backend') → dist/test/fixtures/http-backend.js. */
export function fixturePath(name: string): string {
  // This file compiles to dist/test/harness/, fixtures to its sibling dist/test/fixtures/.
  return path.join(__dirname, '..', 'fixtures', `${name}.js`);
}
