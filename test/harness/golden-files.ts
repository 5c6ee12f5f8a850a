// Golden translation cases on disk: test/golden/<case>/mesh.yaml (input), views.yaml (the views to
// render, as ClientView fields) and one expected YAML file per view, named after the view key's text. Paths point at the source tree, not dist/, so
// UPDATE_GOLDEN=1 rewrites the files that are checked in.
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { repoRoot } from './paths';
import { ClientView, ViewKey } from '../../src/xds/node/view-key';

export const MESH_FILE = 'mesh.yaml';
export const VIEWS_FILE = 'views.yaml';

export interface GoldenCase {
  name: string;
  dir: string;
  meshText: string;
  views: ViewKey[];
}

export function goldenRoot(): string {
  return path.join(repoRoot(), 'test', 'golden');
}

/** The key `sidecar|east|127.0.0.1|15001` -> `sidecar-east-127.0.0.1-15001.yaml`. */
export function viewFileName(viewKey: ViewKey): string {
  return `${viewKey.id.replace(/[^A-Za-z0-9._-]/g, '-')}.yaml`;
}

const VIEW_EXAMPLE =
  '{ role: sidecar, clusterId: east, outboundAddress: 127.0.0.1, outboundPort: 15001 } or { role: gateway, clusterId: west }';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One views.yaml entry as a view; a gateway's address and port may be left out (empty). */
function viewOf(entry: unknown, file: string): ViewKey {
  const problem = (what: string): Error =>
    new Error(`${file}: ${what} in ${JSON.stringify(entry)}; an entry looks like ${VIEW_EXAMPLE}`);
  if (!isRecord(entry)) throw problem('not a mapping');
  const known = new Set([
    'role',
    'clusterId',
    'outboundAddress',
    'outboundPort',
    'tlsDir',
    'inbound',
    'proxyless',
    'workload',
    'onDemand',
  ]);
  const unknown = Object.keys(entry).filter((field) => !known.has(field));
  if (unknown.length > 0) throw problem(`unknown field ${unknown.join(', ')}`);
  const {
    role,
    clusterId,
    outboundAddress = '',
    outboundPort = 0,
    tlsDir,
    inbound,
    proxyless,
    workload,
    onDemand,
  } = entry;
  if (role !== 'sidecar' && role !== 'gateway') throw problem('role is not sidecar or gateway');
  if (typeof clusterId !== 'string' || typeof outboundAddress !== 'string' || typeof outboundPort !== 'number')
    throw problem('clusterId, outboundAddress or outboundPort has the wrong type');
  const view: { -readonly [Field in keyof ClientView]: ClientView[Field] } = {
    role,
    clusterId,
    outboundAddress,
    outboundPort,
  };
  if (tlsDir !== undefined) {
    if (typeof tlsDir !== 'string') throw problem('tlsDir is not a path');
    view.tlsDir = tlsDir;
  }
  if (inbound !== undefined) {
    if (!isRecord(inbound) || typeof inbound.port !== 'number' || typeof inbound.bindAddress !== 'string')
      throw problem('inbound is not { port, bindAddress }');
    view.inbound = { port: inbound.port, bindAddress: inbound.bindAddress };
  }
  if (proxyless === true) view.proxyless = true;
  if (onDemand === true) view.onDemand = true;
  if (typeof workload === 'string') view.workload = workload;
  return ViewKey.of(view);
}

function readViews(file: string): ViewKey[] {
  const entries: unknown = parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(entries) || entries.length === 0)
    throw new Error(`${file} must be a non-empty YAML list of views, like - ${VIEW_EXAMPLE}`);
  const views = entries.map((entry) => viewOf(entry, file));
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
      return {
        name,
        dir,
        meshText: fs.readFileSync(path.join(dir, MESH_FILE), 'utf8'),
        views: readViews(path.join(dir, VIEWS_FILE)),
      };
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
