// Encoding refuses a key the proto type does not have (protobufjs would drop it silently), at any depth,
// inside typed_config Anys too; and what is encoded decodes back to exactly what was built. Builders cannot
// make such a message (the generated types refuse it at compile time, see xds-types-bite.test.ts): these
// messages reach the encoder past the compiler, as anything not built by a builder would.
import { Cluster, Listener } from '../../src/xds/resource/envoy-messages';
import { encodeResource } from '../../src/xds/resource/encoded-resource';
import { CLUSTER_TYPE, LISTENER_TYPE } from '../../src/xds/resource-types';
import { decodeOnWire } from '../harness/wire-decode';

/** A message the types would refuse, as it arrives when built without them. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the type the message poses as
function pastTheCompiler<T>(message: object): T {
  return message as T;
}

describe('strict encoding', () => {
  test('a misspelled top-level field is refused, naming its path', () => {
    expect(() =>
      encodeResource(
        CLUSTER_TYPE,
        'c',
        pastTheCompiler<Cluster>({ name: 'c', outlier_detecton: { consecutive_5xx: { value: 3 } } }),
      ),
    ).toThrow('c: no such field in envoy.config.cluster.v3.Cluster: Cluster.outlier_detecton');
  });

  test('a misspelled nested field is refused', () => {
    expect(() =>
      encodeResource(
        CLUSTER_TYPE,
        'c',
        pastTheCompiler<Cluster>({ name: 'c', outlier_detection: { consecutive_5xxx: { value: 3 } } }),
      ),
    ).toThrow('Cluster.outlier_detection.consecutive_5xxx');
  });

  test('a misspelled field inside a typed_config Any is refused', () => {
    const listener = pastTheCompiler<Listener>({
      name: 'l',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
                stat_prefix: 's',
                clustre: 'x',
              },
            },
          ],
        },
      ],
    });
    expect(() => encodeResource(LISTENER_TYPE, 'l', listener)).toThrow(
      'Listener.filter_chains[0].filters[0].typed_config.clustre',
    );
  });

  test('an Any of an unknown type is refused', () => {
    const listener = pastTheCompiler<Listener>({
      name: 'l',
      filter_chains: [{ filters: [{ name: 'f', typed_config: { '@type': 'type.googleapis.com/no.such.Type' } }] }],
    });
    expect(() => encodeResource(LISTENER_TYPE, 'l', listener)).toThrow('unknown type type.googleapis.com/no.such.Type');
  });

  test('Struct metadata keys are data, not fields', () => {
    const cluster: Cluster = {
      name: 'c',
      metadata: { filter_metadata: { 'spillway.io': { fields: { anything: { stringValue: 'x' } } } } },
    };
    expect(() => encodeResource(CLUSTER_TYPE, 'c', cluster)).not.toThrow();
  });

  test('what is built decodes back unchanged', () => {
    const cluster: Cluster = {
      name: 'c',
      type: 'EDS',
      connect_timeout: { seconds: 1 },
      outlier_detection: { consecutive_5xx: { value: 3 } },
    };
    expect(decodeOnWire(encodeResource(CLUSTER_TYPE, 'c', cluster))).toEqual(cluster);
  });
});
