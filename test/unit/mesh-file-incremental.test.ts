// Incremental parsing of the services list (incremental-mesh-parser.ts) gives exactly what a full parse
// gives: the same model (same order), the same errors with the same path:line, the same limits. Random
// edits (seeded, so a failure replays) are applied one after another to one parser, as reloads would, and
// every version is compared with parseMeshText; the cases it must not take a shortcut on fall back.
import { isDeepStrictEqual } from 'util';
import { IncrementalMeshParser } from '../../src/discovery/file/incremental-mesh-parser';
import { MeshParseResult, formatMeshErrors, parseMeshText } from '../../src/discovery/file/mesh-file';
import { MAX_LISTED_ERRORS } from '../../src/discovery/file/mesh-limits';
import { scanServiceList } from '../../src/discovery/file/service-list-scan';

const lines = (...text: string[]) => text.join('\n') + '\n';

/** Deterministic PRNG (mulberry32): a failing seed replays. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLUSTERS = ['east', 'west', 'south'];
/** Batches of 16 items on average: a few hundred services make many batches. */
const SMALL_BATCHES = { averageBatchItems: 16 };

/** A mesh as the parts an edit works on: the lines before the list, its items, the lines after it. */
interface Mesh {
  head: string[];
  items: string[];
  tail: string[];
}

function render(mesh: Mesh): string {
  return [...mesh.head, ...mesh.items, ...mesh.tail].join('');
}

let nextName = 0;

/** One service in one of several styles, so batches hold a mix of forms. */
function serviceText(rand: () => number, name = `svc-${nextName++}`): string {
  const namespace = `ns${Math.floor(rand() * 5)}`;
  const cluster = CLUSTERS[Math.floor(rand() * CLUSTERS.length)];
  const address = `10.0.${Math.floor(rand() * 250)}.${Math.floor(rand() * 250)}`;
  const port = 8000 + Math.floor(rand() * 1000);
  switch (Math.floor(rand() * 5)) {
    case 0:
      return `  - name: ${name}\n    namespace: ${namespace}\n    ports: [{ name: http, port: ${port} }]\n    endpoints:\n      - { cluster: ${cluster}, address: ${address}, port: 8080 }\n`;
    case 1:
      return (
        `  - name: ${name}\n    namespace: ${namespace}\n    # two ports, a canary\n    ports:\n      - name: http\n        port: ${port}\n      - name: grpc-api\n        port: ${port + 1}\n` +
        `    export: true\n    failover: region\n    canary: { stable: v1, canary: v2, weight: 10 }\n    endpoints:\n` +
        `      - { cluster: ${cluster}, address: ${address}, ports: { http: 8080, grpc-api: 9090 }, labels: { version: v1 } }\n` +
        `      - { cluster: ${cluster}, address: ${address}, ports: { http: 8081, grpc-api: 9091 }, labels: { version: v2 } }\n\n`
      );
    case 2:
      return `  -\n    namespace: ${namespace}\n    name: ${name}\n    ports: [{ name: http, port: ${port} }]\n    mtls: true\n    endpoints:\n      - { cluster: ${cluster}, address: ${address}, port: 8080, sidecarPort: 15006 }\n`;
    case 3:
      return `  - name: ${name}   # a comment & a star * in it\n    namespace: "${namespace}"\n    ports: [{ name: http, port: ${port} }]\n    outlierDetection: { consecutive5xx: 5, intervalMs: 1000 }\n# a comment at column 0\n`;
    default:
      return `  - { name: ${name}, namespace: ${namespace}, ports: [{ name: web, port: ${port}, protocol: http2 }] }\n`;
  }
}

function baseMesh(rand: () => number, services: number): Mesh {
  const items: string[] = [];
  for (let i = 0; i < services; i++) items.push(serviceText(rand));
  return {
    head: [
      '# a mesh\n',
      'clusters:\n',
      ...CLUSTERS.map((name, i) => `  - { name: ${name}, region: r${i % 2}, zone: z${i} }\n`),
      'services:  # the list\n',
      '\n',
    ],
    items,
    tail: [],
  };
}

/** Errors one service can have, each a different rule. */
const BREAKAGES: ((item: string) => string)[] = [
  (item) => item.replace(/port: (\d+)/, 'port: 70000'),
  (item) => item.replace('namespace:', 'namespcae:'),
  (item) => item.replace(/cluster: (east|west|south)/, 'cluster: north'),
  (item) => item.replace(/name: (svc-\d+)/, 'name: Bad_$1'),
  (item) =>
    item.replace(
      /ports: \[\{ name: (\w+), port: (\d+)(, protocol: \w+)? \}\]/,
      'ports: [{ name: $1, port: $2 }, { name: $1, port: $2 }]',
    ),
  (item) => item.replace(/(\n {6}- \{[^\n]*\}\n)/, '$1$1'),
  (item) => item.replace(/namespace: "?(ns\d)"?/, 'namespace: $1\n    bogus: 1\n    color: red'),
  (item) => item.replace(/name: (svc-\d+)/, 'name: $1\n    weird key: 1'),
];

type Edit = (mesh: Mesh, rand: () => number) => string;

/** Marks an item an edit broke, so a later step can replace it (a syntax error has no path to find it by). */
const BROKEN = '# broken\n';

function broken(item: string): string {
  return item.endsWith(BROKEN) ? item : `${item}${BROKEN}`;
}

function pick(rand: () => number, count: number): number {
  return Math.floor(rand() * count);
}

const EDITS: Record<string, Edit> = {
  changePort: (mesh, rand) => {
    const i = pick(rand, mesh.items.length);
    mesh.items[i] = mesh.items[i].replace(/port: (\d+)/, `port: ${20_000 + pick(rand, 40_000)}`);
    return `port of item ${i}`;
  },
  addService: (mesh, rand) => {
    const i = pick(rand, mesh.items.length + 1);
    mesh.items.splice(i, 0, serviceText(rand));
    return `add at ${i}`;
  },
  removeService: (mesh, rand) => {
    const i = pick(rand, mesh.items.length);
    if (mesh.items.length > 2) mesh.items.splice(i, 1);
    return `remove ${i}`;
  },
  moveService: (mesh, rand) => {
    const from = pick(rand, mesh.items.length);
    const [item] = mesh.items.splice(from, 1);
    const to = pick(rand, mesh.items.length + 1);
    mesh.items.splice(to, 0, item);
    return `move ${from} to ${to}`;
  },
  breakService: (mesh, rand) => {
    const i = pick(rand, mesh.items.length);
    const k = pick(rand, BREAKAGES.length);
    mesh.items[i] = broken(BREAKAGES[k](mesh.items[i]));
    return `break ${i} with rule ${k}`;
  },
  fixService: (mesh, rand) => {
    const i = pick(rand, mesh.items.length);
    mesh.items[i] = serviceText(rand);
    return `replace ${i}`;
  },
  duplicateName: (mesh, rand) => {
    const from = pick(rand, mesh.items.length);
    const to = pick(rand, mesh.items.length);
    const name = /name: (svc-\d+)/.exec(mesh.items[from])?.[1];
    const namespace = /namespace: "?(ns\d)/.exec(mesh.items[from])?.[1];
    if (name && namespace && from !== to)
      mesh.items[to] = broken(mesh.items[to])
        .replace(/name: svc-\d+/, `name: ${name}`)
        .replace(/namespace: "?ns\d"?/, `namespace: ${namespace}`);
    return `name of ${from} given to ${to}`;
  },
  commentsAndBlanks: (mesh, rand) => {
    const i = pick(rand, mesh.items.length);
    mesh.items[i] = `${mesh.items[i]}\n    # indented comment\n# - name: not-an-item\n`;
    return `comments after ${i}`;
  },
  meshMtls: (mesh) => {
    mesh.tail = mesh.tail.length > 0 ? [] : ['mtls: false\n'];
    return 'mesh-wide mtls toggled (after the list)';
  },
  newCluster: (mesh) => {
    mesh.head.splice(2, 0, `  - { name: extra${nextName++}, region: r9, zone: z9 }\n`);
    return 'cluster added to the preamble';
  },
  swapPair: (mesh, rand) => {
    const i = pick(rand, mesh.items.length - 1);
    const [a, b] = [mesh.items[i], mesh.items[i + 1]];
    mesh.items[i] = b;
    mesh.items[i + 1] = a;
    return `swap ${i} and ${i + 1}`;
  },
};

/** Maps as entry lists, so order counts too (a deep equality of Maps ignores their order). */
function canonical(result: MeshParseResult): string {
  return JSON.stringify(result, (_key, value: unknown) => (value instanceof Map ? [...value.entries()] : value));
}

function expectSameAsFull(parser: IncrementalMeshParser, text: string, what: string): MeshParseResult {
  const full = parseMeshText(text);
  const incremental = parser.parse(text);
  if (canonical(incremental) !== canonical(full)) {
    const show = (result: MeshParseResult) =>
      result.ok ? `ok, ${result.summary.services} services` : formatMeshErrors('mesh.yaml', result.errors);
    throw new Error(
      `after ${what}: incremental and full parse differ\n--- incremental\n${show(incremental)}\n--- full\n${show(full)}`,
    );
  }
  // Strict too: no property present in one and missing (or undefined) in the other.
  expect(isDeepStrictEqual(incremental, full)).toBe(true);
  return full;
}

describe('incremental mesh parsing: random edits give what a full parse gives', () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`seed ${seed}: 120 edits on 300 services`, () => {
      const rand = random(seed);
      const mesh = baseMesh(rand, 300);
      const parser = new IncrementalMeshParser(SMALL_BATCHES);
      expectSameAsFull(parser, render(mesh), 'the first load');
      const names = Object.keys(EDITS);
      const modes = { batches: 0, whole: 0 };
      let rejected = 0;
      let accepted = 0;
      for (let step = 0; step < 120; step++) {
        const name = names[pick(rand, names.length)];
        const what = `step ${step}: ${EDITS[name](mesh, rand)}`;
        const result = expectSameAsFull(parser, render(mesh), what);
        modes[parser.last.mode]++;
        if (process.env.DEBUG_INCREMENTAL)
          console.log(what, parser.last, result.ok ? 'ok' : formatMeshErrors('m', result.errors).slice(0, 300));
        if (result.ok) accepted++;
        else rejected++;
        // Now and then the broken services are replaced, so valid meshes are compared as well.
        if (!result.ok && rand() < 0.3) {
          mesh.items = mesh.items.map((item) => (item.endsWith(BROKEN) ? serviceText(rand) : item));
          if (expectSameAsFull(parser, render(mesh), `step ${step}: repaired`).ok) accepted++;
        }
      }
      // Both kinds of version, and the fast path taken for most of them (a preamble edit parses all).
      expect(rejected).toBeGreaterThan(10);
      expect(accepted).toBeGreaterThan(5);
      expect(modes.batches).toBeGreaterThan(60);
    });
  }
});

describe('incremental mesh parsing: one edit re-parses one batch', () => {
  test('a port change in a big list parses one batch, and the result is the full parse', () => {
    const rand = random(7);
    const mesh = baseMesh(rand, 2000);
    const parser = new IncrementalMeshParser();
    expectSameAsFull(parser, render(mesh), 'the first load');
    expect(parser.last.mode).toBe('whole');
    expect(parser.last.batches).toBeGreaterThan(5);
    EDITS.changePort?.(mesh, rand);
    expectSameAsFull(parser, render(mesh), 'a port change');
    expect(parser.last.mode).toBe('batches');
    expect(parser.last.parsedBatches).toBeLessThanOrEqual(2);
    mesh.items.splice(1000, 0, serviceText(rand));
    expectSameAsFull(parser, render(mesh), 'a service inserted');
    expect(parser.last.mode).toBe('batches');
    expect(parser.last.parsedBatches).toBeLessThanOrEqual(2);
  });

  test('a duplicate across batches is reported at the second one, naming the first, as a full parse does', () => {
    const rand = random(8);
    const mesh = baseMesh(rand, 1500);
    const parser = new IncrementalMeshParser(SMALL_BATCHES);
    parser.parse(render(mesh));
    mesh.items[1400] = serviceText(rand, 'svc-dup').replace(/namespace: "?ns\d"?/, 'namespace: ns0');
    mesh.items[3] = serviceText(rand, 'svc-dup').replace(/namespace: "?ns\d"?/, 'namespace: ns0');
    const result = expectSameAsFull(parser, render(mesh), 'a duplicate');
    expect(parser.last.mode).toBe('batches');
    expect(result.ok ? [] : result.errors.map((error) => `${error.path}: ${error.message}`)).toEqual([
      'services[1400].name: duplicate service svc-dup.ns0 (first defined at services[3])',
    ]);
  });

  test('an error quoting its own path moves with its service when services are added above it', () => {
    const rand = random(9);
    const mesh = baseMesh(rand, 1500);
    mesh.items[1200] =
      '  - name: twice\n    namespace: ns1\n    ports: [{ name: http, port: 80 }, { name: http, port: 81 }]\n';
    const parser = new IncrementalMeshParser(SMALL_BATCHES);
    parser.parse(render(mesh));
    mesh.items.splice(10, 0, serviceText(rand), serviceText(rand));
    const result = expectSameAsFull(parser, render(mesh), 'two services added above');
    expect(parser.last.mode).toBe('batches');
    expect(result.ok ? [] : result.errors.map((error) => error.message)).toContain(
      'duplicate port name "http" (first at services[1202].ports[0])',
    );
  });

  test(`over ${MAX_LISTED_ERRORS} errors across batches: the same first ones listed, the same count of the rest`, () => {
    const rand = random(10);
    const mesh = baseMesh(rand, 1500);
    const parser = new IncrementalMeshParser(SMALL_BATCHES);
    parser.parse(render(mesh));
    for (let i = 0; i < 1500; i += 9)
      mesh.items[i] = mesh.items[i].replace(/name: (svc-\d+)/, 'name: Bad_$1').replace(/namespace:/, 'nmespace:');
    const result = expectSameAsFull(parser, render(mesh), 'many errors');
    expect(result.ok ? [] : result.errors.at(-1)?.message).toMatch(/^and \d+ more errors/);
  });

  test('edits that leave the shortcut (an alias, a syntax error, a bad preamble) give the full parse, and it resumes after', () => {
    const rand = random(11);
    const mesh = baseMesh(rand, 800);
    const parser = new IncrementalMeshParser(SMALL_BATCHES);
    parser.parse(render(mesh));
    const original = mesh.items[500];
    const cases: [string, () => void][] = [
      [
        'an anchor and an alias',
        () =>
          (mesh.items[500] =
            '  - name: a1\n    namespace: ns0\n    ports: &p [{ name: http, port: 80 }]\n  - name: a2\n    namespace: ns0\n    ports: *p\n'),
      ],
      [
        'an unclosed quote',
        () => (mesh.items[500] = '  - name: "open\n    namespace: ns0\n    ports: [{ name: http, port: 80 }]\n'),
      ],
      [
        'an unclosed flow list',
        () => (mesh.items[500] = '  - name: x\n    namespace: ns0\n    ports: [{ name: http, port: 80 },\n'),
      ],
      [
        'a key at the list indentation',
        () =>
          (mesh.items[500] = '  - name: x\n    namespace: ns0\n    ports: [{ name: http, port: 80 }]\n  stray: 1\n'),
      ],
      [
        'a duplicate key',
        () =>
          (mesh.items[500] = '  - name: x\n    name: y\n    namespace: ns0\n    ports: [{ name: http, port: 80 }]\n'),
      ],
      ['a tab', () => (mesh.items[500] = '  - name: x\n    namespace:\tns0\n    ports: [{ name: http, port: 80 }]\n')],
      [
        'an unknown cluster key in the preamble',
        () => mesh.head.splice(2, 0, '  - { name: bad, region: r, zone: z, color: red }\n'),
      ],
      ['a second document', () => mesh.tail.push('---\nclusters: []\n')],
      ['a deeper-indented first item', () => (mesh.items[0] = `  ${mesh.items[0]}`)],
      ['services twice', () => mesh.tail.push('services:\n  - name: again\n')],
    ];
    for (const [what, edit] of cases) {
      const before = { head: [...mesh.head], items: [...mesh.items], tail: [...mesh.tail] };
      edit();
      expectSameAsFull(parser, render(mesh), what);
      Object.assign(mesh, before);
      mesh.items[500] = original;
      expectSameAsFull(parser, render(mesh), `${what}, undone`);
      EDITS.changePort?.(mesh, rand);
      expectSameAsFull(parser, render(mesh), `${what}, undone, then a port change`);
      expect(parser.last.mode).toBe('batches');
    }
  });

  test("a syntax error in one service is the full parse's verdict; its fix is parsed from the batches kept before", () => {
    const rand = random(13);
    const mesh = baseMesh(rand, 600);
    const parser = new IncrementalMeshParser(SMALL_BATCHES);
    parser.parse(render(mesh));
    const original = mesh.items[300];
    mesh.items[300] = original.replace(/name: (svc-\d+)/, 'name: "$1');
    const broken = expectSameAsFull(parser, render(mesh), 'an unclosed quote');
    expect(broken.ok).toBe(false);
    expect(parser.last.mode).toBe('whole');
    mesh.items[300] = original;
    expectSameAsFull(parser, render(mesh), 'the quote fixed');
    expect(parser.last).toEqual({ mode: 'batches', batches: expect.any(Number), parsedBatches: 0 });
  });

  test('a cache handed to another parser (as the start parse hands it to the reload thread) goes on from there', () => {
    const rand = random(14);
    const mesh = baseMesh(rand, 600);
    const atStart = new IncrementalMeshParser(SMALL_BATCHES);
    atStart.parse(render(mesh));
    const cache = atStart.cache();
    if (!cache) throw new Error('the start parse cached nothing');
    const reloads = new IncrementalMeshParser(SMALL_BATCHES);
    // A structured clone, as postMessage makes: the cache must be plain data.
    reloads.restore(structuredClone(cache));
    EDITS.changePort?.(mesh, rand);
    EDITS.breakService?.(mesh, rand);
    expectSameAsFull(reloads, render(mesh), 'an edit after the handover');
    expect(reloads.last.mode).toBe('batches');
    expect(reloads.last.parsedBatches).toBeLessThanOrEqual(4);
  });

  test('other forms of the list: at column 0, flow style, no final newline, CRLF, mtls after the list', () => {
    const rand = random(12);
    const mesh = baseMesh(rand, 600);
    const parser = new IncrementalMeshParser(SMALL_BATCHES);
    const compact = render(mesh).replace(/^ {2}/gm, '');
    expectSameAsFull(parser, `${compact}mtls: false\n`, 'a list at column 0, then mtls');
    expectSameAsFull(
      parser,
      `${compact.replace('port: 8', 'port: 9')}mtls: false\n`,
      'a list at column 0, then mtls, a port changed',
    );
    expect(parser.last.mode).toBe('batches');
    expectSameAsFull(parser, render(mesh).trimEnd(), 'no final newline');
    expectSameAsFull(parser, render(mesh).replace(/\n/g, '\r\n'), 'CRLF');
    expectSameAsFull(
      parser,
      'clusters:\n  - { name: east, region: r, zone: z }\nservices: [{ name: a, namespace: b, ports: [{ name: http, port: 1 }] }]\n',
      'flow style',
    );
    expectSameAsFull(
      parser,
      'clusters:\n  - { name: east, region: r, zone: z }\nservices:\nmtls: true\n',
      'an empty list',
    );
    expectSameAsFull(parser, '', 'an empty file');
  });
});

describe('the rules across services keep the order of a full parse', () => {
  test("a duplicate's error comes after the errors before its name check and before the rest, on a shared line too", () => {
    const text = lines(
      'clusters:',
      '  - { name: east, region: r, zone: z }',
      'services:',
      '  - { name: a, namespace: b, ports: [{ name: http, port: 1 }] }',
      '  - { nme: x, name: a, namespace: b, ports: [{ name: http, port: 70000 }] }',
      // More services, so that re-parsing the edited one is worth it.
      ...Array.from(
        { length: 40 },
        (_, i) => `  - { name: more-${i}, namespace: b, ports: [{ name: http, port: 1 }] }`,
      ),
    );
    // As parseMeshText reported it before services were read one by one (and as the batches must).
    const expected = [
      { path: 'services[1].nme', line: 5, message: 'unknown key "nme" (did you mean "name"?)' },
      { path: 'services[1].name', line: 5, message: 'duplicate service a.b (first defined at services[0])' },
      { path: 'services[1].ports[0].port', line: 5, message: '70000 is out of range: must be in 1..65535' },
    ];
    expect(parseMeshText(text)).toEqual({ ok: false, errors: expected });
    const parser = new IncrementalMeshParser({ averageBatchItems: 1 });
    parser.parse(text.replace('70000', '8080'));
    expect(parser.parse(text)).toEqual({ ok: false, errors: expected });
    expect(parser.last.mode).toBe('batches');
  });
});

describe('scanServiceList: what it refuses to split', () => {
  const head = 'clusters:\n  - { name: east, region: r, zone: z }\n';
  test.each([
    ['an alias', `${head}services:\n  - name: a\n    ports: *p\n`],
    ['an anchor in a flow list', `${head}services:\n  - name: a\n    ports: [&p { name: http }]\n`],
    ['a quoted line with a star after a comment mark', `${head}services:\n  - name: "a #" *b\n`],
    ['a tab', `${head}services:\n  - name:\ta\n`],
    ['a document marker', `---\n${head}services:\n  - name: a\n`],
    ['flow style', `${head}services: [ { name: a } ]\n`],
    ['no services', head],
    ['a line indented less than the dashes', `${head}services:\n    - name: a\n  x: 1\n`],
  ])('%s', (_what, text) => {
    expect(scanServiceList(text)).toBeUndefined();
  });

  test('stars and ampersands in comments are fine', () => {
    expect(
      scanServiceList(`${head}# *** generated & checked ***\nservices:\n  - name: a   # a & b *c\n`)?.itemStarts,
    ).toHaveLength(1);
  });
});
