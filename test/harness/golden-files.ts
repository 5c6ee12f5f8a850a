// Golden translation cases on disk: test/golden/<case>/mesh.yaml (input), views.yaml (the view keys to
// render) and one expected YAML file per view. Paths point at the source tree, not dist/, so
// UPDATE_GOLDEN=1 rewrites the files that are checked in.
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { repoRoot } from './paths';

export const MESH_FILE = 'mesh.yaml';
export const VIEWS_FILE = 'views.yaml';

export interface GoldenCase {
  name: string;
  dir: string;
  meshText: string;
  /** View keys as viewKeyOf() makes them, e.g. `sidecar|east|127.0.0.1|15001` or `gateway|west`. */
  views: string[];
}

export function goldenRoot(): string {
  return path.join(repoRoot(), 'test', 'golden');
}

/** `sidecar|east|127.0.0.1|15001` -> `sidecar-east-127.0.0.1-15001.yaml`. */
export function viewFileName(viewKey: string): string {
  return `${viewKey.replace(/[^A-Za-z0-9._-]/g, '-')}.yaml`;
}

function readViews(file: string): string[] {
  const views: unknown = parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(views) || views.length === 0 || !views.every((v): v is string => typeof v === 'string')) {
    throw new Error(`${file} must be a non-empty YAML list of view keys (like "gateway|west")`);
  }
  const files = views.map(viewFileName);
  if (new Set(files).size !== files.length) throw new Error(`${file}: two views map to the same expected file`);
  return views;
}

/** Every case folder, sorted; a folder without mesh.yaml and views.yaml is an error, not skipped. */
export function listGoldenCases(): GoldenCase[] {
  const root = goldenRoot();
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const dir = path.join(root, name);
      return { name, dir, meshText: fs.readFileSync(path.join(dir, MESH_FILE), 'utf8'), views: readViews(path.join(dir, VIEWS_FILE)) };
    });
}

/** Expected-output files in a case folder that no listed view produces (left over from a renamed view). */
export function staleExpectedFiles(goldenCase: GoldenCase): string[] {
  const wanted = new Set([MESH_FILE, VIEWS_FILE, ...goldenCase.views.map(viewFileName)]);
  return fs
    .readdirSync(goldenCase.dir)
    .filter((file) => file.endsWith('.yaml') && !wanted.has(file))
    .sort();
}
