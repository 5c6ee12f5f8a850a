// The demo's story without processes: its cast read off the embedded mesh, its counters, and its verdicts
// driven by a fake sidecar that answers the way the real one would (or would not).
import { captureStderr } from '../harness/output';
import { EMBEDDED_MESH_YAML } from '../../src/discovery/embedded-mesh';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { BackendIdentity } from '../../src/demo/backend-identity';
import { onceFromEnvironment, runDemoCommand } from '../../src/demo/demo-command';
import { planDemo } from '../../src/demo/demo-plan';
import { StoryCast, StoryDriver, StoryTimings, castStory, runStory } from '../../src/demo/story';
import {
  Answer,
  Sample,
  formatCounter,
  formatExpected,
  matchesWeights,
  tallyAnswers,
} from '../../src/demo/story-sample';

const FAST: StoryTimings = { settleTimeoutMs: 200, recoverTimeoutMs: 200, probeIntervalMs: 5, liveLineIntervalMs: 50 };

function cast(): StoryCast {
  const parsed = parseMeshText(EMBEDDED_MESH_YAML);
  if (!parsed.ok) throw new Error('embedded mesh invalid');
  return castStory(parsed.model, planDemo(parsed.model));
}

const backend = (cluster: string, version: string): Answer => ({
  identity: { cluster, service: 'checkout.shop', version, port: 1 },
});

/** A fake sidecar following the mesh's rules: local first, then west and south 2:1; canary 10% or by header. */
class FakeMesh implements StoryDriver {
  readonly lines: string[] = [];
  readonly down = new Set<string>();
  /** Test knob: remote traffic goes to this one cluster only (a broken weighting). */
  onlyRemote?: string;
  private counter = 0;

  async send(count: number, headers: Record<string, string> = {}): Promise<Sample> {
    const answers: Answer[] = [];
    for (let i = 0; i < count; i++) answers.push(this.route(headers['x-canary'] === 'true'));
    return tallyAnswers(answers);
  }

  async kill(versions: readonly string[]): Promise<string[]> {
    for (const v of versions) this.down.add(v);
    return versions.map((v) => `east ${v}`);
  }

  async restart(): Promise<string[]> {
    const restarted = [...this.down].map((v) => `east ${v}`);
    this.down.clear();
    return restarted;
  }

  print(line: string): void {
    this.lines.push(line);
  }

  stopping(): boolean {
    return false;
  }

  private route(pinned: boolean): Answer {
    const n = this.counter++;
    const wantsCanary = pinned || n % 10 === 0;
    if (wantsCanary && !this.down.has('v2')) return backend('east', 'v2');
    if (!this.down.has('v1')) return backend('east', 'v1');
    if (this.onlyRemote) return backend(this.onlyRemote, 'v1');
    return backend(n % 3 === 2 ? 'south' : 'west', 'v1');
  }
}

describe('the cast, from the embedded mesh', () => {
  test('east is the client; west and south take spilled traffic 2:1; v2 is the 10% canary behind x-canary', () => {
    expect(cast()).toEqual({
      client: 'east',
      remotes: [
        { key: 'west', weight: 2 },
        { key: 'south', weight: 1 },
      ],
      stable: 'v1',
      canary: 'v2',
      canaryWeight: 10,
      canaryHeader: { 'x-canary': 'true' },
    });
  });
});

describe('counters', () => {
  const identity = (cluster: string): BackendIdentity => ({
    cluster,
    service: 'checkout.shop',
    version: 'v1',
    port: 1,
  });
  const sample = tallyAnswers([
    ...Array.from({ length: 2 }, () => ({ identity: identity('west') })),
    { identity: identity('south') },
  ]);

  test('shares in a fixed order, 0% for a cluster that did not answer, failures shown', () => {
    expect(formatCounter(sample, sample.byCluster, ['east', 'west', 'south'])).toBe('east 0% | west 67% | south 33%');
    const withFailure = tallyAnswers([{ identity: identity('west') }, { failure: '503' }]);
    expect(formatCounter(withFailure, withFailure.byCluster, ['east'])).toBe('east 0% | west 50% | failed 50%');
    expect(
      formatExpected([
        { key: 'west', weight: 2 },
        { key: 'south', weight: 1 },
      ]),
    ).toBe('west 67% south 33%');
  });

  test('weights match within the tolerance only', () => {
    const weights = [
      { key: 'west', weight: 2 },
      { key: 'south', weight: 1 },
    ];
    expect(matchesWeights(sample, sample.byCluster, weights, 0.05)).toBe(true);
    const skewed = tallyAnswers(Array.from({ length: 10 }, () => ({ identity: identity('south') })));
    expect(matchesWeights(skewed, skewed.byCluster, weights, 0.2)).toBe(false);
  });
});

describe('runStory', () => {
  test('a mesh that behaves passes all five steps, each with its counter and PASS line', async () => {
    const mesh = new FakeMesh();
    expect(await runStory(cast(), mesh, FAST)).toEqual({ passed: true });
    const text = mesh.lines.join('\n');
    for (let step = 1; step <= 5; step++) expect(text).toContain(`PASS step ${step}/5`);
    expect(text).toContain(
      'east 0% | west 67% | south 33% of 60 requests, 0 failed (expected 2:1 by replicas: west 67% south 33%)',
    );
    expect(text).toContain('x-canary: true: v2 10/10');
  });

  test('spill that ignores replicas fails step 2 and names it', async () => {
    const mesh = new FakeMesh();
    mesh.onlyRemote = 'south';
    const result = await runStory(cast(), mesh, FAST);
    expect(result).toMatchObject({ passed: false, failedStep: "step 2/5 (east's backends killed)" });
    expect(mesh.lines.join('\n')).toContain(
      "FAIL step 2/5: east's backends killed: the counted requests do not show it: east 0% | west 0% | south 100%",
    );
  });

  test('a cluster that never comes back fails step 3 after its bounded wait, with live counters meanwhile', async () => {
    const mesh = new FakeMesh();
    mesh.restart = async () => [];
    const result = await runStory(cast(), mesh, FAST);
    expect(result).toMatchObject({ passed: false, failedStep: 'step 3/5 (east recovers)' });
    expect(mesh.lines.some((l) => l.includes('waiting for east to take its traffic back'))).toBe(true);
    expect(mesh.lines.join('\n')).toContain('not seen within 0.2s');
  });

  test('a stop in the middle is neither a pass nor a failure', async () => {
    const mesh = new FakeMesh();
    let sends = 0;
    const send = mesh.send.bind(mesh);
    mesh.send = (count, headers) => (sends++, send(count, headers));
    mesh.stopping = () => sends > 2;
    expect(await runStory(cast(), mesh, FAST)).toEqual({ passed: false, stopped: true });
    expect(mesh.lines.join('\n')).not.toContain('FAIL');
  });
});

test('DEMO_ONCE and --once: the environment switch, and a story-less once is a usage error', async () => {
  expect(onceFromEnvironment({ DEMO_ONCE: '1' })).toBe(true);
  expect(onceFromEnvironment({ DEMO_ONCE: 'yes' })).toBe(true);
  expect(onceFromEnvironment({ DEMO_ONCE: '0' })).toBe(false);
  expect(onceFromEnvironment({})).toBe(false);
  const written = await captureStderr(async () => {
    expect(await runDemoCommand(['--once', '--story', 'no'], {})).toBe(2);
    expect(await runDemoCommand(['--story', 'maybe'], {})).toBe(2);
  });
  expect(written).toContain('--once (DEMO_ONCE) tells the story: it cannot go with --story no');
  expect(written).toContain('--story "maybe" is not yes or no');
});
