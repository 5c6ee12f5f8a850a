// Everything end-to-end tests need: Envoy, backends, load clients, the proxyless gRPC client.
export { freePort, waitFor, sleep, GiveUpWaiting, WaitForOptions } from './ports';
export { captureStderr, testOutputDir } from './output';
export { repoRoot, envoyBinaryPath, protoRoot } from './paths';
export { startEnvoy, stopAllEnvoys, EnvoyOptions, EnvoyProcess } from './envoy';
export { BootstrapFragment, Locality, XdsEndpoint, XdsMode, NODE_CLUSTER, XDS_CLUSTER_NAME } from './envoy-bootstrap';
export { ClusterStatus, HostStatus, configDumpSection } from './envoy-admin-parsers';
export { staticHttpProxy, StaticHttpProxyOptions } from './static-bootstrap';
export {
  startHttpBackend,
  startGrpcBackend,
  startGrpcGoBackend,
  stopAllBackends,
  Backend,
  BackendOptions,
  BackendKind,
} from './backends';
export { sendRequests, SendRequestsOptions, UNKNOWN_BACKEND_ID } from './http-load';
export { Tally, emptyTally, mergeTally, successCount } from './tally';
export { callEcho, EchoClient, EchoCallError } from './echo-client';
export { WhoReply, WhoRequest } from './echo-proto';
export {
  writeGrpcBootstrap,
  runGrpcXdsClient,
  startGrpcXdsClient,
  stopAllGrpcXdsClients,
  GrpcBootstrapOptions,
  GrpcXdsClientOptions,
  GrpcXdsClientHandle,
  GrpcImplementation,
} from './grpc-xds-client';
export { stopEverything } from './cleanup';
