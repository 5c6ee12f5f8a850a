// The retry policy proxyless clients get on their routes (gRFC A44): `unavailable` unless the service's
// grpcRetryOn names its own statuses; Envoy sidecars keep their own policy either way.
import { LISTENER_TYPE } from '../../src/xds/resource-types';
import { translateView } from '../../src/xds/translate/translator';
import { ViewKey } from '../../src/xds/node/view-key';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const PROXYLESS_VIEW = ViewKey.of({
  clusterId: 'east',
  role: 'sidecar',
  outboundAddress: '127.0.0.1',
  outboundPort: 15001,
  proxyless: true,
});
const LISTENER = 'echo.shop.svc.cluster.local:9090';

function retryOnOf(grpcRetryOn?: ('unavailable' | 'resource-exhausted')[]): unknown[] {
  const service = httpService('echo', 'shop', 9090, grpcRetryOn ? { grpcRetryOn } : {});
  const model = sampleMesh({ extraServices: [{ service, endpoints: [endpoint('east', 19090)] }] });
  const listener = translateView(model, PROXYLESS_VIEW).resources.find(
    (r) => r.typeUrl === LISTENER_TYPE && r.name === LISTENER,
  );
  const text = JSON.stringify(listener?.message);
  return [...text.matchAll(/"retry_on":"([^"]*)"/g)].map((match) => match[1]);
}

test('proxyless routes retry on unavailable by default', () => {
  const retryOn = retryOnOf();
  expect(retryOn.length).toBeGreaterThan(0);
  expect(new Set(retryOn)).toEqual(new Set(['unavailable']));
});

test("a service's grpcRetryOn becomes the proxyless routes' retry_on", () => {
  expect(new Set(retryOnOf(['resource-exhausted', 'unavailable']))).toEqual(
    new Set(['resource-exhausted,unavailable']),
  );
});
