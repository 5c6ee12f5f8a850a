// A big mesh file as an operator would write it: N services over three clusters, one endpoint each.
// `changedPort` moves the first service to another port (the one-port change a rebuild must carry fast).

const CLUSTERS = ['east', 'west', 'south'];

export function bigMeshYaml(services: number, changedPort = false): string {
  const lines = [
    'clusters:',
    '  - { name: east, region: r1, zone: r1-a, gateway: 127.0.0.2:15443 }',
    '  - { name: west, region: r1, zone: r1-b, gateway: 127.0.0.3:15443 }',
    '  - { name: south, region: r2, zone: r2-a, gateway: 127.0.0.4:15443 }',
    'services:',
  ];
  for (let i = 0; i < services; i++) {
    const port = changedPort && i === 0 ? 9090 : 8080;
    lines.push(
      `  - name: svc-${i}`,
      `    namespace: ns${i % 50}`,
      `    ports: [{ name: http, port: ${port} }]`,
      '    export: true',
      '    endpoints:',
      `      - { cluster: ${CLUSTERS[i % 3]}, address: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, port: 8080 }`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The Envoy cluster whose name the one-port change alters. */
export function changedClusterName(changedPort: boolean): string {
  return `outbound|${changedPort ? 9090 : 8080}||svc-0.ns0.svc.cluster.local`;
}
