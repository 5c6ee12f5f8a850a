// How a gateway learns which subset a remote caller asked for. Every endpoint of a subset cluster carries
// metadata `spillway.subset`, and sidecar routes set `x-spillway-subset` from the metadata of the host
// actually chosen (%UPSTREAM_METADATA%). So the header follows the real choice, also inside a canary
// aggregate that fell back to stable (an upstream filter on the subset cluster would not: Envoy runs the
// aggregate's filters). Gateways route on the header; local backends ignore it.
import { Any, Metadata } from '../resource/envoy-messages';
import { protocolOptions, typedAny } from '../resource/typed-any';

const HTTP_PROTOCOL_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export const SUBSET_HEADER = 'x-spillway-subset';
export const METADATA_NAMESPACE = 'spillway';

export function subsetMetadata(subset: string): Metadata {
  return { filter_metadata: { [METADATA_NAMESPACE]: { fields: { subset: { stringValue: subset } } } } };
}

/**
 * Upstream HTTP filters for a sidecar cluster: set `x-spillway-subset` from the chosen host's metadata,
 * replacing whatever the caller sent (an empty value removes it).
 */
export function subsetHeaderProtocolOptions(http2: boolean): Record<string, Any> {
  return protocolOptions(HTTP_PROTOCOL_OPTIONS, {
    explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
    http_filters: [
      {
        name: 'envoy.filters.http.header_mutation',
        typed_config: typedAny('type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation', {
          mutations: {
            request_mutations: [
              { remove: SUBSET_HEADER },
              {
                append: {
                  header: { key: SUBSET_HEADER, value: `%UPSTREAM_METADATA(${METADATA_NAMESPACE}:subset)%` },
                  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
                },
              },
            ],
          },
        }),
      },
      {
        name: 'envoy.filters.http.upstream_codec',
        typed_config: typedAny('type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec', {}),
      },
    ],
  });
}
