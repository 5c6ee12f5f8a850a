// The xDS server's own listening socket: a deep accept backlog (so a reconnect storm is queued, not reset)
// and a clear error when the port is taken.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import { CLUSTER_TYPE } from '../../src/xds/resource-types';
import { LISTEN_BACKLOG } from '../../src/xds/server/xds-server';
import { startInProcess } from '../harness/in-process';
import { RawAdsClient } from '../harness/raw-ads-client';
import { sampleMesh } from '../harness/sample-mesh';

function somaxconn(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  } catch {
    return LISTEN_BACKLOG;
  }
}

describe('xDS listening socket', () => {
  test('listens with the deep backlog (as the kernel reports it) and serves streams', async () => {
    const server = await startInProcess(sampleMesh());
    try {
      // For a listening socket, ss reports the accept backlog in the Send-Q column.
      const line = execFileSync('ss', ['-ltnH', `sport = :${server.port}`], { encoding: 'utf8' }).trim();
      const backlog = Number(line.split(/\s+/)[2]);
      expect(backlog).toBe(Math.min(LISTEN_BACKLOG, somaxconn()));
      const client = new RawAdsClient(server.address, 'sotw');
      client.sendSotw({ typeUrl: CLUSTER_TYPE, node: { id: 'sidecar', metadata: { CLUSTER_ID: 'east' } } });
      expect((await client.next()).resources.length).toBeGreaterThan(0);
      client.close();
    } finally {
      await server.stop();
    }
  });

  test('a port in use is a clear error', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await expect(startInProcess(sampleMesh(), { xdsAddress: `127.0.0.1:${port}` })).rejects.toThrow(
        /another server using the port/,
      );
    } finally {
      taken.close();
    }
  });
});
