// Whether a stream's client may be served, decided on its first request: the node's size (on its bytes,
// before decoding), its id, the view it resolves to, and (with mTLS) whether its certificate names the
// cluster it claims. A refusal throws StreamClosedError with the status the client sees.
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'tls';
import type { Logger } from 'pino';
import { IdentityPolicy, checkClusterIdentity } from '../node/client-identity';
import { NodeInfo } from '../node/node-info';
import { StreamKind } from '../node/stream-kind';
import { ViewGranted, ViewRefusalReason, ViewResolver } from '../node/view-resolution';
import { bounded } from './bounded-text';
import { ClientLimits } from './client-limits';
import { ClientRegistry } from './client-registry';
import { nodeSizeProblem } from './node-limits';
import { MAX_STATUS_CHARS, StreamClosedError } from './stream-end';

/** The status a client sees for each reason view resolution refuses it. */
const REFUSAL_STATUS: Readonly<Record<ViewRefusalReason, grpc.status>> = {
  'not-servable': grpc.status.FAILED_PRECONDITION,
  'invalid-metadata': grpc.status.INVALID_ARGUMENT,
};

export interface AdmissionPolicy {
  readonly resolveView: ViewResolver;
  readonly clientLimits: ClientLimits;
  readonly registry: ClientRegistry;
  /** When set, a client's certificate must name the cluster it claims. */
  readonly identity?: IdentityPolicy;
}

/** What the connection tells about the client besides its requests. */
export interface ClientPeer {
  readonly address: string;
  certificate(): PeerCertificate | undefined;
}

export interface AdmittedClient extends ViewGranted {
  readonly node: NodeInfo;
}

/** Admits the client of a stream from its first request, or throws (and counts the refusal). */
export function admitClient(
  request: { readonly node?: NodeInfo; readonly nodeBytes?: Uint8Array },
  stream: StreamKind,
  peer: ClientPeer,
  policy: AdmissionPolicy,
  log: Logger,
): AdmittedClient {
  // Sizes first, on the bytes: an oversize node is neither decoded, nor logged, nor echoed.
  const sizeProblem = request.nodeBytes ? nodeSizeProblem(request.nodeBytes, policy.clientLimits) : undefined;
  if (sizeProblem) {
    policy.registry.recordRejectedStream();
    log.warn({ reason: sizeProblem, peer: peer.address }, 'refusing xDS client: node too large');
    throw new StreamClosedError(grpc.status.RESOURCE_EXHAUSTED, sizeProblem);
  }
  const node = request.node;
  if (!node?.id) {
    throw new StreamClosedError(
      grpc.status.INVALID_ARGUMENT,
      'the first discovery request must carry a node with an id (set node.id in the bootstrap)',
    );
  }
  const resolution = policy.resolveView(node, stream);
  if (!resolution.ok) {
    policy.registry.recordRejectedStream();
    log.warn({ node: node.id, reason: bounded(resolution.message, MAX_STATUS_CHARS) }, 'refusing xDS client');
    throw new StreamClosedError(REFUSAL_STATUS[resolution.reason], resolution.message);
  }
  if (policy.identity) {
    const identity = checkClusterIdentity(policy.identity, peer.certificate(), resolution.clusterId);
    if (!identity.ok) {
      policy.registry.recordRejectedStream();
      log.warn(
        { node: node.id, reason: identity.message },
        'refusing xDS client: certificate does not match its cluster',
      );
      throw new StreamClosedError(grpc.status.PERMISSION_DENIED, identity.message);
    }
  }
  return { ...resolution, node };
}
