import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from './paths';

/** <repo>/test-output/<name>, created if missing: Envoy logs, bootstraps and other artefacts go here. */
export function testOutputDir(name: string): string {
  const dir = path.join(repoRoot(), 'test-output', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Makes an id safe to use inside a file name. */
export function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Runs `body` with process.stderr captured; returns what was written to it. */
export async function captureStderr(body: () => Promise<void>): Promise<string> {
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string) => {
    writes.push(chunk);
    return true;
  };
  try {
    await body();
  } finally {
    process.stderr.write = original;
  }
  return writes.join('');
}
