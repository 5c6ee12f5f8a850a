// The benchmark clients share what they found in a response with every client that gets the same one. istiod
// stamps one push version on every client's response, and two clients' CDS can differ only in a service name
// of the same length: each must still subscribe to its own EDS names (it once took the other's, and istiod
// answered every change with a full EDS response to undo it).
import * as grpc from '@grpc/grpc-js';
import { BenchClient, ClientEvents } from '../../bench/load/bench-client';
import { messageType } from '../../src/xds/protos';
import { forEachBytesField, utf8 } from '../../bench/load/wire-scan';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const passBytes = (bytes: Buffer) => bytes;

/** A CDS response holding one EDS cluster for `service`, with the same version whoever it is for. */
function clusterResponse(service: string): Buffer {
  const cluster = messageType('envoy.config.cluster.v3.Cluster');
  const value = cluster
    .encode(
      cluster.fromObject({
        name: `outbound|8080||${service}`,
        type: 'EDS',
        eds_cluster_config: { service_name: `outbound|8080||${service}` },
      }),
    )
    .finish();
  const response = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return Buffer.from(
    response
      .encode(
        response.fromObject({
          version_info: 'push-1',
          type_url: CLUSTER_TYPE,
          nonce: `n-${service}`,
          resources: [{ type_url: CLUSTER_TYPE, value }],
        }),
      )
      .finish(),
  );
}

/** type_url 4 and resource_names 3 of a DiscoveryRequest. */
function readRequest(bytes: Buffer): { typeUrl: string; names: string[] } {
  const request = { typeUrl: '', names: [] as string[] };
  forEachBytesField(bytes, (field, value) => {
    if (field === 4) request.typeUrl = utf8(value);
    else if (field === 3) request.names.push(utf8(value));
  });
  return request;
}

const noEvents: ClientEvents = {
  synced: () => undefined,
  endpoints: () => undefined,
  failed: () => undefined,
  reopened: () => undefined,
};

test('clients whose CDS differs only in a same-length name subscribe to their own EDS names', async () => {
  const edsRequests = new Map<string, string[]>();
  const server = new grpc.Server();
  server.addService(
    {
      StreamAggregatedResources: {
        path: ADS_PATH,
        requestStream: true,
        responseStream: true,
        requestSerialize: passBytes,
        requestDeserialize: passBytes,
        responseSerialize: passBytes,
        responseDeserialize: passBytes,
      },
    },
    {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        let service = '';
        call.on('data', (bytes: Buffer) => {
          const request = readRequest(bytes);
          // The node id (field 2 → id 1) says which client this is; only the first request carries it.
          forEachBytesField(bytes, (field, value) => {
            if (field === 2) forEachBytesField(value, (inner, id) => (inner === 1 ? (service = utf8(id)) : undefined));
          });
          if (request.typeUrl === CLUSTER_TYPE && request.names.length === 0 && !edsRequests.has(service))
            call.write(clusterResponse(service));
          if (request.typeUrl === ENDPOINT_TYPE) edsRequests.set(service, request.names);
        });
        call.on('error', () => undefined);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const clients: BenchClient[] = [];
  try {
    for (const service of ['svc-6.bench.svc.cluster.local', 'svc-9.bench.svc.cluster.local']) {
      clients.push(new BenchClient(`127.0.0.1:${port}`, { id: service, metadata: {} }, 'sotw', noEvents));
      for (let i = 0; i < 200 && !edsRequests.has(service); i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(edsRequests.get('svc-6.bench.svc.cluster.local')).toEqual(['outbound|8080||svc-6.bench.svc.cluster.local']);
    expect(edsRequests.get('svc-9.bench.svc.cluster.local')).toEqual(['outbound|8080||svc-9.bench.svc.cluster.local']);
  } finally {
    for (const client of clients) client.close();
    server.forceShutdown();
  }
});
