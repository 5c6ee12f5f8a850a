// The xDS server against a REAL Envoy, in state-of-the-world and delta ADS: what Envoy applied is read
// from its admin API, and real HTTP requests go through its listener to real backend processes.
import { CLUSTER_TYPE } from '../../src/xds/resource-types';
import { MeshModel } from '../../src/mesh/model';
import { Snapshot } from '../../src/xds/cache/snapshot';
import { encodeResource } from '../../src/xds/resource/encoded-resource';
import { translateView } from '../../src/xds/translate/translator';
import {
  Backend,
  EnvoyProcess,
  freePort,
  sendRequests,
  startEnvoy,
  startHttpBackend,
  stopEverything,
  testOutputDir,
  waitFor,
} from '../harness';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { endpoint, sampleMesh } from '../harness/sample-mesh';

const HOST = 'checkout.shop.svc.cluster.local';
const CHECKOUT_CLUSTER = `outbound|8080||${HOST}`;
const LOG_DIR = testOutputDir('envoy-ads');

afterAll(async () => {
  await stopEverything();
});

async function sidecar(
  server: { port: number },
  mode: 'sotw' | 'delta',
  cluster: string,
  nodeId: string,
): Promise<{ envoy: EnvoyProcess; url: string }> {
  const outboundPort = await freePort();
  const envoy = await startEnvoy({
    nodeId,
    metadata: { CLUSTER_ID: cluster, OUTBOUND_PORT: String(outboundPort) },
    xds: { host: '127.0.0.1', port: server.port },
    mode,
    logDir: LOG_DIR,
  });
  await envoy.waitReady();
  return { envoy, url: `http://127.0.0.1:${outboundPort}/` };
}

/** Waits until requests through the sidecar reach exactly the expected backends. */
async function expectTrafficTo(url: string, expected: string[], what: string): Promise<void> {
  await waitFor(
    async () => {
      const tally = await sendRequests({ url, hostHeader: HOST, count: 20 });
      const seen = Object.keys(tally.byId).sort();
      return tally.failures === 0 && JSON.stringify(seen) === JSON.stringify([...expected].sort()) ? tally : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 250, what },
  );
}

function meshWith(backends: Backend[], cluster = 'east'): MeshModel {
  return sampleMesh({ checkoutEndpoints: backends.map((b) => endpoint(cluster, b.port)) });
}

describe.each(['sotw', 'delta'] as const)('Envoy over %s ADS', (mode) => {
  let server: InProcessSpillway;
  let backends: Backend[];

  beforeAll(async () => {
    backends = await Promise.all(['east-1', 'east-2', 'east-3'].map((id) => startHttpBackend({ id })));
  });

  afterEach(async () => {
    await server?.stop();
  });

  test('initial sync, an endpoint added and removed, a service removed', async () => {
    const [a, b, c] = backends as [Backend, Backend, Backend];
    server = await startInProcess(meshWith([a, b]));
    const { envoy, url } = await sidecar(server, mode, 'east', `sidecar-${mode}-1`);
    expect(await envoy.stat('control_plane.connected_state')).toBe(1);
    expect(await envoy.dynamicClusterNames()).toContain(CHECKOUT_CLUSTER);
    expect(await envoy.listenerNames()).toEqual(['outbound']);
    await expectTrafficTo(url, ['east-1', 'east-2'], 'traffic to the two initial endpoints');

    server.setModel(meshWith([a, b, c]));
    await expectTrafficTo(url, ['east-1', 'east-2', 'east-3'], 'traffic to the added endpoint');
    server.setModel(meshWith([c]));
    await expectTrafficTo(url, ['east-3'], 'no traffic to removed endpoints');

    const model = meshWith([c]);
    const services = new Map(model.services);
    services.delete(HOST);
    server.setModel({ ...model, services });
    await waitFor(async () => !(await envoy.dynamicClusterNames()).includes(CHECKOUT_CLUSTER), {
      timeoutMs: 10_000,
      what: 'cluster removed from Envoy',
    });
    const after = await sendRequests({ url, hostHeader: HOST, count: 3 });
    expect(after.statuses['404']).toBe(3);
    expect(await envoy.stat('cluster_manager.cds.update_rejected')).toBe(0);
    await envoy.stop();
  });

  test('an invalid resource is NACKed by Envoy, recorded with its error, never resent, and the old config keeps serving', async () => {
    const [a] = backends as [Backend];
    let injectBroken = false;
    const model = meshWith([a]);
    server = await startInProcess(model, {
      buildSnapshot: (view) => {
        const translation = translateView(server.store.current(), view);
        const resources = [...translation.resources];
        if (injectBroken) {
          // connect_timeout must be > 0 (Envoy's validation rules), so Envoy rejects this cluster.
          resources.push(
            encodeResource(CLUSTER_TYPE, 'broken', {
              name: 'broken',
              type: 'EDS',
              eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
              connect_timeout: { seconds: -5 },
            }),
          );
        }
        return new Snapshot(resources);
      },
    });
    const { envoy, url } = await sidecar(server, mode, 'east', `sidecar-${mode}-nack`);
    await expectTrafficTo(url, ['east-1'], 'initial traffic');
    injectBroken = true;
    void server.spillway.rebuild();
    await envoy.waitForStat('cluster_manager.cds.update_rejected', (v) => v >= 1, 10_000);
    const client = await waitFor(
      async () =>
        server.spillway.server.registry
          .list()
          .find((c) => c.nodeId === `sidecar-${mode}-nack` && c.types.CDS?.lastNack),
      {
        timeoutMs: 5_000,
        what: 'NACK recorded',
      },
    );
    expect(client.types.CDS?.lastNack?.message).toMatch(/connect_timeout|Duration|broken/i);
    const responsesAfterNack = client.types.CDS?.responses;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(client.types.CDS?.responses).toBe(responsesAfterNack); // no resend loop
    expect(await envoy.stat('cluster_manager.cds.update_rejected')).toBe(1);
    const tally = await sendRequests({ url, hostHeader: HOST, count: 10 });
    expect(tally.byId['east-1']).toBe(10);
    // The next good change goes through.
    injectBroken = false;
    void server.spillway.rebuild();
    await waitFor(
      async () =>
        (client.types.CDS?.ackedVersion ?? '') !== '' &&
        client.types.CDS?.ackedVersion === client.types.CDS?.sentVersion,
      {
        timeoutMs: 5_000,
        what: 'good config ACKed after the NACK',
      },
    );
    await envoy.stop();
  });

  test('the server restarts while Envoy runs: traffic never stops, Envoy resyncs without new versions', async () => {
    const [a, b] = backends as [Backend, Backend];
    server = await startInProcess(meshWith([a, b]));
    const port = server.port;
    const { envoy, url } = await sidecar(server, mode, 'east', `sidecar-${mode}-restart`);
    await expectTrafficTo(url, ['east-1', 'east-2'], 'traffic before the restart');
    const before = server.spillway.server.registry.list()[0];
    const cdsVersionBefore = before?.types.CDS?.sentVersion;

    server.spillway.server.forceStop();
    await server.stop();
    await envoy.waitForStat('control_plane.connected_state', (v) => v === 0, 10_000);
    const whileDown = await sendRequests({ url, hostHeader: HOST, count: 20 });
    expect(whileDown.failures).toBe(0);

    server = await startInProcess(meshWith([a, b]), { xdsAddress: `127.0.0.1:${port}` });
    await envoy.waitForStat('control_plane.connected_state', (v) => v === 1, 20_000);
    const after = await waitFor(
      async () => server.spillway.server.registry.list().find((c) => c.nodeId === `sidecar-${mode}-restart`),
      {
        timeoutMs: 10_000,
        what: 'client back',
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Same content, same version: a SotW client that holds it is sent nothing; a delta client gets no resources.
    if (mode === 'sotw') expect(after.types.CDS?.responses ?? 0).toBe(0);
    else expect(after.types.CDS?.sentVersion).toBe(cdsVersionBefore);
    expect(await envoy.stat('cluster_manager.cds.update_rejected')).toBe(0);
    await expectTrafficTo(url, ['east-1', 'east-2'], 'traffic after the restart');
    server.setModel(meshWith([b]));
    await expectTrafficTo(url, ['east-2'], 'updates flow after the restart');
    await envoy.stop();
  });

  test('two Envoys in different clusters get different views', async () => {
    const [a, b] = backends as [Backend, Backend];
    server = await startInProcess(
      sampleMesh({ checkoutEndpoints: [endpoint('east', a.port), endpoint('west', b.port)] }),
    );
    const east = await sidecar(server, mode, 'east', `sidecar-${mode}-east`);
    const west = await sidecar(server, mode, 'west', `sidecar-${mode}-west`);
    await expectTrafficTo(east.url, ['east-1'], 'east sidecar uses east endpoints');
    await expectTrafficTo(west.url, ['east-2'], 'west sidecar uses west endpoints');
    const eastHosts = (await east.envoy.cluster(CHECKOUT_CLUSTER))?.hosts ?? [];
    expect(eastHosts.map((h) => `${h.address}:${h.port}@${h.priority}`).sort()).toEqual([
      `127.0.0.1:${a.port}@0`,
      '127.0.0.3:15443@1',
    ]);
    const westHosts = (await west.envoy.cluster(CHECKOUT_CLUSTER))?.hosts ?? [];
    expect(westHosts.map((h) => `${h.address}:${h.port}@${h.priority}`).sort()).toEqual([
      `127.0.0.1:${b.port}@0`,
      '127.0.0.2:15443@1',
    ]);
    // The unexported ledger service lives only in west: east's Envoy has no cluster for it.
    expect(await east.envoy.dynamicClusterNames()).not.toContain('outbound|8080||ledger.shop.svc.cluster.local');
    expect(await west.envoy.dynamicClusterNames()).toContain('outbound|8080||ledger.shop.svc.cluster.local');
    await Promise.all([east.envoy.stop(), west.envoy.stop()]);
  });
});
