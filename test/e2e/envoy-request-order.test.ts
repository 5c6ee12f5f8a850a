// What a real Envoy sends over SotW ADS, captured between it and Spillway by a recording proxy: which
// types it asks for and when, the order of the EDS names in its requests and ACKs, and where a new
// cluster's name goes. The benchmark's Envoy-like clients (bench/load) must list names the same way; this
// test checks Envoy's properties and theirs (envoySotwEdsNames), and writes the capture (captured.json,
// facts.json) to test-output/envoy-requests/.
import * as fs from 'fs';
import * as path from 'path';
import { envoySotwEdsNames } from '../../bench/load/envoy-order';
import {
  MeshSize,
  SERVICE_PORT,
  clusterName,
  endpointKey,
  generateMesh,
  regionOf,
  serviceName,
  zoneOf,
} from '../../bench/mesh/generate-mesh';
import { outboundName } from '../../bench/servers/sidecar-nodes';
import { serviceHost } from '../../src/mesh/model';
import { EnvoyProcess, freePort, startEnvoy, stopEverything, testOutputDir, waitFor } from '../harness';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { RecordedMessage, RecordingAdsProxy, startRecordingAdsProxy } from '../harness/recording-ads-proxy';

const OUT = testOutputDir('envoy-requests');
const SIZE: MeshSize = { services: 24, endpointsPerCluster: 2, clusters: 3 };
const edsName = (service: number) =>
  outboundName(serviceHost({ name: serviceName(service), namespace: 'bench' }), SERVICE_PORT);

function lastResponse(messages: readonly RecordedMessage[], type: string): RecordedMessage | undefined {
  return [...messages].reverse().find((m) => m.direction === 'response' && m.type === type);
}

/** The request that ACKs (or NACKs) the newest response of `type`, once it has been sent. */
function ackOfLast(messages: readonly RecordedMessage[], type: string): RecordedMessage | undefined {
  const response = lastResponse(messages, type);
  if (!response) return undefined;
  return messages.find((m) => m.direction === 'request' && m.type === type && m.nonce === response.nonce);
}

const requests = (messages: readonly RecordedMessage[], type: string) =>
  messages.filter((m) => m.direction === 'request' && m.type === type);

describe('a real Envoy over SotW ADS, recorded (what the benchmark clients imitate)', () => {
  let server: InProcessSpillway;
  let proxy: RecordingAdsProxy;
  let envoy: EnvoyProcess;

  beforeAll(async () => {
    server = await startInProcess(generateMesh(SIZE));
    proxy = await startRecordingAdsProxy(server.address);
    envoy = await startEnvoy({
      nodeId: 'sidecar-recorded',
      metadata: { CLUSTER_ID: clusterName(0), OUTBOUND_PORT: String(await freePort()) },
      locality: { region: regionOf(0), zone: zoneOf(0) },
      xds: { host: '127.0.0.1', port: proxy.port },
      mode: 'sotw',
      logDir: OUT,
    });
    await envoy.waitReady();
  });
  afterAll(async () => {
    fs.writeFileSync(path.join(OUT, 'captured.json'), JSON.stringify(proxy?.messages ?? [], null, 1) + '\n');
    await proxy?.stop();
    await server?.stop();
    await stopEverything();
  });

  test('initial sync, an endpoint change and a new cluster: requests in the order the load generator sends them', async () => {
    const m = proxy.messages;
    await waitFor(async () => ackOfLast(m, 'ClusterLoadAssignment') && ackOfLast(m, 'RouteConfiguration'), {
      timeoutMs: 20_000,
      what: 'EDS and RDS ACKed',
    });
    const cds = lastResponse(m, 'Cluster') as RecordedMessage;
    const firstEds = requests(m, 'ClusterLoadAssignment')[0];
    const initialAck = ackOfLast(m, 'ClusterLoadAssignment') as RecordedMessage;

    // An endpoint of one service goes not ready: one EDS response, one ACK.
    const before = m.length;
    server.setModel(generateMesh(SIZE, new Set([endpointKey(5, 0, 0)])));
    await waitFor(async () => m.length > before && ackOfLast(m.slice(before), 'ClusterLoadAssignment'), {
      timeoutMs: 10_000,
      what: 'EDS change ACKed',
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const afterChange = m.slice(before);
    const changeAck = ackOfLast(afterChange, 'ClusterLoadAssignment') as RecordedMessage;

    // One more service: CDS names a new cluster, Envoy asks for its assignment.
    const beforeAdd = m.length;
    server.setModel(generateMesh({ ...SIZE, services: SIZE.services + 1 }));
    const added = edsName(SIZE.services);
    await waitFor(
      async () => requests(m.slice(beforeAdd), 'ClusterLoadAssignment').some((r) => r.names.includes(added)),
      { timeoutMs: 10_000, what: 'EDS request with the new cluster' },
    );
    await waitFor(async () => ackOfLast(m.slice(beforeAdd), 'ClusterLoadAssignment'), {
      timeoutMs: 10_000,
      what: 'EDS ACK after the new cluster',
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const afterAdd = m.slice(beforeAdd);
    const addedCds = lastResponse(afterAdd, 'Cluster') as RecordedMessage;
    const addAck = ackOfLast(afterAdd, 'ClusterLoadAssignment') as RecordedMessage;

    const facts = {
      requestTypesInOrder: m
        .filter((x) => x.direction === 'request')
        .map((x) => `${x.type}${x.nonce ? ' (ack)' : ''}${x.names.length ? ` [${x.names.length} names]` : ''}`),
      cdsResponseOrder: cds.names,
      firstEdsRequestOrder: firstEds.names,
      initialEdsAckOrder: initialAck.names,
      changeMessages: afterChange.map((x) => `${x.direction} ${x.type} names=${x.names.length}`),
      changeAckSameNamesAsBefore: JSON.stringify(changeAck.names) === JSON.stringify(initialAck.names),
      cdsAfterAddOrder: addedCds.names,
      edsAfterAddOrder: addAck.names,
      addMessages: afterAdd.map((x) => `${x.direction} ${x.type} names=${x.names.length}`),
    };
    fs.writeFileSync(path.join(OUT, 'facts.json'), JSON.stringify(facts, null, 2) + '\n');

    const edsOf = (clusters: readonly string[]) => clusters.filter((name) => name.startsWith('outbound|'));
    const sorted = (names: readonly string[]) => [...names].sort();
    // Envoy: the names CDS announced, in neither sorted nor CDS order; the same list in every later request.
    expect(sorted(firstEds.names)).toEqual(sorted(edsOf(cds.names)));
    expect(firstEds.names).not.toEqual(sorted(firstEds.names));
    expect(firstEds.names).not.toEqual(edsOf(cds.names));
    expect(initialAck.names).toEqual(firstEds.names);
    expect(changeAck.names).toEqual(initialAck.names);
    // A cluster added later goes first, the others keep their places.
    expect(addAck.names).toEqual([added, ...initialAck.names]);

    // The load generator's Envoy-like clients: the same properties, for the same CDS responses.
    const mine = envoySotwEdsNames(edsOf(cds.names), []);
    expect(sorted(mine)).toEqual(sorted(firstEds.names));
    expect(mine).not.toEqual(sorted(mine));
    expect(envoySotwEdsNames(edsOf(cds.names), mine)).toEqual(mine);
    expect(envoySotwEdsNames(edsOf(addedCds.names), mine)).toEqual([added, ...mine]);
  });
});
