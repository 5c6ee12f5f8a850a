// DNS rebinding protection of the admin server: which Host headers are answered.
import { HostPolicy, hostName } from '../../src/admin/host-policy';

describe('admin Host policy', () => {
  test('host names: ports, brackets, case and trailing dots do not matter', () => {
    expect(['localhost:15014', '[::1]:15014', 'LocalHost.', '127.0.0.1', '::1'].map(hostName)).toEqual([
      'localhost',
      '::1',
      'localhost',
      '127.0.0.1',
      '::1',
    ]);
  });

  test('loopback, configured names and the bound address are answered; others get a message naming the flag', () => {
    const policy = new HostPolicy(['admin.example.com:8443', '']);
    policy.allowBoundAddress('10.0.0.5');
    for (const host of [
      '127.0.0.1:15014',
      '127.3.4.5',
      'localhost',
      '[::1]:1',
      'admin.example.com',
      'ADMIN.example.com:1',
      '10.0.0.5:15014',
      undefined,
    ]) {
      expect({ host, refusal: policy.refusal('/debug/config', host) }).toEqual({ host, refusal: undefined });
    }
    for (const host of ['evil.example', 'localhost.evil.example', '127.0.0.1.evil.example', '10.0.0.6', '']) {
      expect(policy.refusal('/debug/config', host)).toContain('--admin-allowed-hosts');
    }
  });

  test('probe and scrape paths answer any Host', () => {
    const policy = new HostPolicy();
    for (const path of ['/healthz', '/readyz', '/metrics'])
      expect(policy.refusal(path, '10.244.1.17:15014')).toBeUndefined();
    expect(policy.refusal('/', '10.244.1.17:15014')).toBeDefined();
  });

  test('a hostile Host is shown short and plain', () => {
    const refusal = new HostPolicy().refusal('/', `<script>${'x'.repeat(500)}`) ?? '';
    expect(refusal).not.toContain('<');
    expect(refusal.length).toBeLessThan(400);
  });
});
