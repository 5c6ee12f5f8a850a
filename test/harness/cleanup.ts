import { stopAllBackends } from './backends';
import { stopAllEnvoys } from './envoy';
import { stopAllGrpcXdsClients } from './grpc-xds-client';

/** Stops every process the harness started in this test file: `afterAll(stopEverything)`. */
export async function stopEverything(): Promise<void> {
  await Promise.all([stopAllGrpcXdsClients(), stopAllEnvoys(), stopAllBackends()]);
}
