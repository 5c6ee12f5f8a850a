// The mesh file: parsing, defaults, every validation rule (exact path and line), and hot reload.
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { promises as fs, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import pino from 'pino';
import { EMBEDDED_MESH_YAML } from '../../src/discovery/embedded-mesh';
import { KEEP_SERVING_HINT, MeshFileSource } from '../../src/discovery/file/file-source';
import {
  MeshFileError,
  MeshParseResult,
  formatMeshErrors,
  loadMeshFile,
  parseMeshText,
} from '../../src/discovery/file/mesh-file';
import { readMeshFileBytes } from '../../src/discovery/file/mesh-file-reader';
import { MAX_ENDPOINTS_PER_SERVICE, MAX_LISTED_ERRORS } from '../../src/discovery/file/mesh-limits';
import { decodeUtf8 } from '../../src/discovery/file/utf8';
import { MeshModel, ServiceEntry } from '../../src/mesh/model';
import { MeshStore } from '../../src/mesh/store';

const lines = (...text: string[]) => text.join('\n') + '\n';

/** Two clusters and the start of one service: lines 1-7, so case lines start at 8. */
const HEAD = [
  'clusters:',
  '  - { name: east, region: r1, zone: r1-a, gateway: 127.0.0.2:15443 }',
  '  - { name: west, region: r1, zone: r1-b }',
  'services:',
  '  - name: checkout',
  '    namespace: shop',
  '    ports: [{ name: http, port: 8080 }]',
];
const service = (...rest: string[]) => lines(...HEAD, ...rest);
const withEndpoint = (endpoint: string) => service('    endpoints:', `      - ${endpoint}`); // endpoint on line 9

function errorsOf(result: MeshParseResult): MeshFileError[] {
  if (result.ok) throw new Error('expected the mesh to be rejected');
  return result.errors;
}

function modelOf(result: MeshParseResult): MeshModel {
  if (!result.ok) throw new Error('expected a valid mesh:\n' + formatMeshErrors('mesh.yaml', result.errors));
  return result.model;
}

function entry(model: MeshModel, host: string): ServiceEntry {
  const found = model.services.get(host);
  if (!found) throw new Error(`no service ${host}`);
  return found;
}

describe('parseMeshText: a valid mesh', () => {
  const text = lines(
    'clusters:',
    '  - { name: east, region: europe-west1, zone: europe-west1-b, gateway: "127.0.0.2:15443" }',
    '  - { name: west, region: europe-west1, zone: europe-west1-c, gateway: "[::1]:15443" }',
    '  - { name: edge, region: us-east1, zone: us-east1-b }',
    'services:',
    '  - name: checkout',
    '    namespace: shop',
    '    ports: [{ name: http, port: 8080 }, { name: grpc-api, port: 9090 }, { name: http2-data, port: 9091 }, { name: web, port: 8081, protocol: http2 }]',
    '    export: true',
    '    failover: region',
    '    outlierDetection: { consecutive5xx: 5, intervalMs: 500, baseEjectionTimeMs: 2000, maxEjectionPercent: 50 }',
    '    subsets: { label: track }',
    '    canary: { stable: v1, canary: v2, weight: 10, header: { name: X-Canary, exact: "true" }, order: locality-first, overprovisioningPercent: 140 }',
    '    endpoints:',
    '      - { cluster: east, address: 127.0.0.1, port: 18081 }',
    '      - { cluster: west, address: "::1", port: 18082, zone: europe-west1-b, ready: false, terminating: true }',
    '      - { cluster: west, address: 127.0.0.1, ports: { http: 18083 }, labels: { track: v1, app.kubernetes.io/name: checkout } }',
    '  - name: ledger',
    '    namespace: shop',
    '    ports: [{ name: http, port: 8080 }]',
  );

  test('maps every field and applies the defaults', () => {
    const result = parseMeshText(text);
    const model = modelOf(result);
    expect(result.ok && result.summary).toEqual({ clusters: 3, services: 2, endpoints: 3 });
    expect(model.clusters.get('east')).toEqual({
      name: 'east',
      region: 'europe-west1',
      zone: 'europe-west1-b',
      gateway: { address: '127.0.0.2', port: 15443 },
    });
    expect(model.clusters.get('west')?.gateway).toEqual({ address: '::1', port: 15443 });
    expect(model.clusters.get('edge')).toEqual({ name: 'edge', region: 'us-east1', zone: 'us-east1-b' });

    const checkout = entry(model, 'checkout.shop.svc.cluster.local');
    expect(checkout.service).toEqual({
      name: 'checkout',
      namespace: 'shop',
      ports: [
        { name: 'http', port: 8080, protocol: 'http' },
        { name: 'grpc-api', port: 9090, protocol: 'grpc' },
        { name: 'http2-data', port: 9091, protocol: 'http2' },
        { name: 'web', port: 8081, protocol: 'http2' },
      ],
      exported: true,
      failover: 'region',
      subsetLabel: 'track',
      outlier: { consecutive5xx: 5, intervalMs: 500, baseEjectionTimeMs: 2000, maxEjectionPercent: 50 },
      canary: {
        stable: 'v1',
        canary: 'v2',
        weight: 10,
        header: { name: 'x-canary', exact: 'true' },
        order: 'locality-first',
        overprovisioningPercent: 140,
      },
    });
    const everyPort = { http: 18081, 'grpc-api': 18081, 'http2-data': 18081, web: 18081 };
    expect(checkout.endpoints).toEqual([
      { cluster: 'east', address: '127.0.0.1', ports: everyPort, labels: {}, ready: true },
      {
        cluster: 'west',
        address: '::1',
        ports: { ...everyPort, http: 18082, 'grpc-api': 18082, 'http2-data': 18082, web: 18082 },
        zone: 'europe-west1-b',
        labels: {},
        ready: false,
        terminating: true,
      },
      {
        cluster: 'west',
        address: '127.0.0.1',
        ports: { http: 18083 },
        labels: { track: 'v1', 'app.kubernetes.io/name': 'checkout' },
        ready: true,
      },
    ]);

    const ledger = entry(model, 'ledger.shop.svc.cluster.local');
    expect(ledger.service).toEqual({
      name: 'ledger',
      namespace: 'shop',
      ports: [{ name: 'http', port: 8080, protocol: 'http' }],
      exported: false,
      subsetLabel: 'version',
      failover: 'cluster',
    });
    expect(ledger.endpoints).toEqual([]);
  });

  test('canary defaults: order version-first, weight 0 when only a header routes to it', () => {
    const model = modelOf(
      parseMeshText(service('    canary: { stable: v1, canary: v2, header: { name: x-canary, exact: "1" } }')),
    );
    expect(entry(model, 'checkout.shop.svc.cluster.local').service.canary).toEqual({
      stable: 'v1',
      canary: 'v2',
      weight: 0,
      header: { name: 'x-canary', exact: '1' },
      order: 'version-first',
    });
  });

  test('grpcRetryOn: the statuses proxyless clients retry on, checked against the ones gRPC can retry', () => {
    const model = modelOf(parseMeshText(service('    grpcRetryOn: [unavailable, resource-exhausted, unavailable]')));
    expect(entry(model, 'checkout.shop.svc.cluster.local').service.grpcRetryOn).toEqual([
      'resource-exhausted',
      'unavailable',
    ]);
    expect(
      entry(modelOf(parseMeshText(service())), 'checkout.shop.svc.cluster.local').service.grpcRetryOn,
    ).toBeUndefined();
    const [wrong] = errorsOf(parseMeshText(service('    grpcRetryOn: [unavailable, not-found]')));
    expect(wrong).toMatchObject({ path: 'services[0].grpcRetryOn[1]', line: 8 });
    expect(wrong?.message).toContain('cancelled');
    expect(errorsOf(parseMeshText(service('    grpcRetryOn: []')))).toEqual([
      {
        path: 'services[0].grpcRetryOn',
        line: 8,
        message: 'names no status; list at least one, or leave grpcRetryOn out for the default [unavailable]',
      },
    ]);
  });

  test('JSON is YAML: the same mesh as JSON gives the same model', () => {
    const json = JSON.stringify(
      {
        clusters: [
          { name: 'east', region: 'r1', zone: 'r1-a', gateway: '127.0.0.2:15443' },
          { name: 'west', region: 'r1', zone: 'r1-b' },
        ],
        services: [
          {
            name: 'checkout',
            namespace: 'shop',
            ports: [{ name: 'http', port: 8080 }],
            endpoints: [{ cluster: 'east', address: '127.0.0.1', port: 18081 }],
          },
        ],
      },
      null,
      2,
    );
    expect(modelOf(parseMeshText(json))).toEqual(
      modelOf(parseMeshText(withEndpoint('{ cluster: east, address: 127.0.0.1, port: 18081 }'))),
    );
  });

  test('anchors and aliases are followed', () => {
    const model = modelOf(
      parseMeshText(
        service(
          '    endpoints:',
          '      - { cluster: east, address: 127.0.0.1, port: 18081, labels: &v1 { version: v1 } }',
          '      - { cluster: west, address: 127.0.0.1, port: 18082, labels: *v1 }',
        ),
      ),
    );
    expect(entry(model, 'checkout.shop.svc.cluster.local').endpoints.map((e) => e.labels)).toEqual([
      { version: 'v1' },
      { version: 'v1' },
    ]);
  });
});

describe('parseMeshText: every rule reports its path and line', () => {
  interface Case {
    rule: string;
    text: string;
    path: string;
    line: number;
    message: string | RegExp;
  }
  const cases: Case[] = [
    // document shape
    { rule: 'empty file', text: '', path: '', line: 1, message: /empty/ },
    { rule: 'top level is not a mapping', text: '- east\n', path: '', line: 1, message: /must be a mapping/ },
    {
      rule: 'clusters is required',
      text: 'services: []\n',
      path: 'clusters',
      line: 1,
      message: 'missing required key "clusters"',
    },
    {
      rule: 'clusters must be a list',
      text: 'clusters: east\n',
      path: 'clusters',
      line: 1,
      message: 'must be a list, got "east" (a string)',
    },
    {
      rule: 'at least one cluster (none would empty every proxy)',
      text: 'clusters: []\nservices: []\n',
      path: 'clusters',
      line: 1,
      message: /^the mesh needs at least one cluster/,
    },
    {
      rule: 'unknown top-level key, with a hint',
      text: lines(...HEAD.slice(0, 3), 'service: []'),
      path: 'service',
      line: 4,
      message: 'unknown key "service" (did you mean "services"?)',
    },
    // clusters
    {
      rule: 'cluster name is a DNS label',
      text: lines('clusters:', '  - { name: East, region: r, zone: z }'),
      path: 'clusters[0].name',
      line: 2,
      message: /"East" is not a DNS label/,
    },
    {
      rule: 'cluster names are unique',
      text: lines('clusters:', '  - { name: east, region: r, zone: z }', '  - { name: east, region: r, zone: y }'),
      path: 'clusters[1].name',
      line: 3,
      message: 'duplicate cluster name "east" (first defined at clusters[0])',
    },
    {
      rule: 'cluster region is required',
      text: lines('clusters:', '  - name: east', '    zone: z'),
      path: 'clusters[0].region',
      line: 2,
      message: 'missing required key "region"',
    },
    {
      rule: 'cluster zone needs a value',
      text: lines('clusters:', '  - name: east', '    region: r', '    zone:'),
      path: 'clusters[0].zone',
      line: 4,
      message: 'needs a value',
    },
    {
      rule: 'gateway host is an IP',
      text: lines('clusters:', '  - { name: east, region: r, zone: z, gateway: "gw.example:15443" }'),
      path: 'clusters[0].gateway',
      line: 2,
      message: /"gw.example" is not an IP address/,
    },
    {
      rule: 'gateway needs a port',
      text: lines('clusters:', '  - { name: east, region: r, zone: z, gateway: 127.0.0.2 }'),
      path: 'clusters[0].gateway',
      line: 2,
      message: /is not HOST:PORT/,
    },
    {
      rule: 'gateway port in range',
      text: lines('clusters:', '  - { name: east, region: r, zone: z, gateway: "127.0.0.2:70000" }'),
      path: 'clusters[0].gateway',
      line: 2,
      message: /port "70000" must be a number in 1..65535/,
    },
    {
      rule: 'unknown cluster key, with a hint',
      text: lines('clusters:', '  - name: east', '    region: r', '    zone: z', '    gatway: 127.0.0.2:15443'),
      path: 'clusters[0].gatway',
      line: 5,
      message: 'unknown key "gatway" (did you mean "gateway"?)',
    },
    // services
    {
      rule: 'service name is a DNS label',
      text: lines(
        ...HEAD.slice(0, 4),
        '  - name: Checkout',
        '    namespace: shop',
        '    ports: [{ name: http, port: 8080 }]',
      ),
      path: 'services[0].name',
      line: 5,
      message: /"Checkout" is not a DNS label/,
    },
    {
      rule: 'service namespace is required',
      text: lines(...HEAD.slice(0, 4), '  - name: checkout', '    ports: [{ name: http, port: 8080 }]'),
      path: 'services[0].namespace',
      line: 5,
      message: 'missing required key "namespace"',
    },
    {
      rule: '(name, namespace) is unique',
      text: service('  - { name: checkout, namespace: shop, ports: [{ name: http, port: 9090 }] }'),
      path: 'services[1].name',
      line: 8,
      message: 'duplicate service checkout.shop (first defined at services[0])',
    },
    {
      rule: 'ports are required',
      text: lines(...HEAD.slice(0, 6)),
      path: 'services[0].ports',
      line: 5,
      message: 'missing required key "ports"',
    },
    {
      rule: 'at least one port',
      text: lines(...HEAD.slice(0, 6), '    ports: []'),
      path: 'services[0].ports',
      line: 7,
      message: 'a service needs at least one port',
    },
    {
      rule: 'port number in range',
      text: lines(...HEAD.slice(0, 6), '    ports: [{ name: http, port: 0 }]'),
      path: 'services[0].ports[0].port',
      line: 7,
      message: '0 is out of range: must be in 1..65535',
    },
    {
      rule: 'port number is a number',
      text: lines(...HEAD.slice(0, 6), '    ports:', '      - name: http', '        port: "8080"'),
      path: 'services[0].ports[0].port',
      line: 9,
      message: 'must be a whole number in 1..65535, got "8080" (a string)',
    },
    {
      rule: 'port numbers are unique',
      text: lines(...HEAD.slice(0, 6), '    ports: [{ name: http, port: 8080 }, { name: admin, port: 8080 }]'),
      path: 'services[0].ports[1].port',
      line: 7,
      message: 'duplicate port 8080 (first at services[0].ports[0])',
    },
    {
      rule: 'port names are unique',
      text: lines(
        ...HEAD.slice(0, 6),
        '    ports:',
        '      - { name: http, port: 8080 }',
        '      - { name: http, port: 8081 }',
      ),
      path: 'services[0].ports[1].name',
      line: 9,
      message: 'duplicate port name "http" (first at services[0].ports[0])',
    },
    {
      rule: 'port protocol is known',
      text: lines(...HEAD.slice(0, 6), '    ports: [{ name: http, port: 8080, protocol: http3 }]'),
      path: 'services[0].ports[0].protocol',
      line: 7,
      message: /"http3" is not one of http, http2, grpc/,
    },
    {
      rule: 'export is a boolean',
      text: service('    export: "true"'),
      path: 'services[0].export',
      line: 8,
      message: 'must be true or false, got "true" (a string)',
    },
    {
      rule: 'unknown service key, with a hint',
      text: service('    exprt: true'),
      path: 'services[0].exprt',
      line: 8,
      message: 'unknown key "exprt" (did you mean "export"?)',
    },
    {
      rule: 'unknown key without a close match lists the allowed ones',
      text: service('    colour: blue'),
      path: 'services[0].colour',
      line: 8,
      message: /^unknown key "colour" \(allowed: name, namespace, ports, export,/,
    },
    {
      rule: 'failover mode is known',
      text: service('    failover: regoin'),
      path: 'services[0].failover',
      line: 8,
      message: '"regoin" is not one of cluster, region (did you mean "region"?)',
    },
    {
      rule: 'outlier percent in range',
      text: service('    outlierDetection: { maxEjectionPercent: 101 }'),
      path: 'services[0].outlierDetection.maxEjectionPercent',
      line: 8,
      message: '101 is out of range: must be in 0..100',
    },
    {
      rule: 'outlier keys are checked',
      text: service('    outlierDetection:', '      consecutive5XX: 3'),
      path: 'services[0].outlierDetection.consecutive5XX',
      line: 9,
      message: 'unknown key "consecutive5XX" (did you mean "consecutive5xx"?)',
    },
    {
      rule: 'subset label is a label key',
      text: service('    subsets: { label: "no spaces" }'),
      path: 'services[0].subsets.label',
      line: 8,
      message: /is not a label key/,
    },
    // canary
    {
      rule: 'canary differs from stable',
      text: service('    canary: { stable: v1, canary: v1, weight: 10 }'),
      path: 'services[0].canary.canary',
      line: 8,
      message: 'the canary subset must differ from the stable one ("v1")',
    },
    {
      rule: 'canary weight 0..100',
      text: service('    canary:', '      stable: v1', '      canary: v2', '      weight: 150'),
      path: 'services[0].canary.weight',
      line: 11,
      message: '150 is out of range: must be in 0..100',
    },
    {
      rule: 'canary order is known',
      text: service('    canary: { stable: v1, canary: v2, order: locality-frist }'),
      path: 'services[0].canary.order',
      line: 8,
      message: /"locality-frist" is not one of version-first, locality-first \(did you mean "locality-first"\?\)/,
    },
    {
      rule: 'canary stable is required',
      text: service('    canary: { canary: v2 }'),
      path: 'services[0].canary.stable',
      line: 8,
      message: 'missing required key "stable"',
    },
    {
      rule: 'canary header value is a string',
      text: service('    canary: { stable: v1, canary: v2, header: { name: x-canary, exact: true } }'),
      path: 'services[0].canary.header.exact',
      line: 8,
      message: 'must be a string, got true (a boolean); quote it if you mean the text: "true"',
    },
    {
      rule: 'canary header name is an HTTP header name',
      text: service('    canary: { stable: v1, canary: v2, header: { name: "x canary", exact: "1" } }'),
      path: 'services[0].canary.header.name',
      line: 8,
      message: '"x canary" is not an HTTP header name',
    },
    {
      rule: 'overprovisioning at least 100%',
      text: service('    canary: { stable: v1, canary: v2, overprovisioningPercent: 50 }'),
      path: 'services[0].canary.overprovisioningPercent',
      line: 8,
      message: '50 is out of range: must be in 100..10000',
    },
    // endpoints
    {
      rule: 'endpoint cluster must be known',
      text: withEndpoint('{ cluster: nort, address: 127.0.0.1, port: 18081 }'),
      path: 'services[0].endpoints[0].cluster',
      line: 9,
      message: 'unknown cluster "nort" (known: east, west)',
    },
    {
      rule: 'endpoint address is an IP',
      text: withEndpoint('{ cluster: east, address: backend.local, port: 18081 }'),
      path: 'services[0].endpoints[0].address',
      line: 9,
      message: '"backend.local" is not an IP address',
    },
    {
      rule: 'endpoint needs port or ports',
      text: withEndpoint('{ cluster: east, address: 127.0.0.1 }'),
      path: 'services[0].endpoints[0]',
      line: 9,
      message: /needs `port` .* or `ports`/,
    },
    {
      rule: 'endpoint gives port or ports, not both',
      text: withEndpoint('{ cluster: east, address: 127.0.0.1, port: 1, ports: { http: 2 } }'),
      path: 'services[0].endpoints[0].ports',
      line: 9,
      message: 'give either `port` or `ports`, not both',
    },
    {
      rule: 'endpoint ports name service ports',
      text: withEndpoint('{ cluster: east, address: 127.0.0.1, ports: { htp: 18081 } }'),
      path: 'services[0].endpoints[0].ports.htp',
      line: 9,
      message: 'unknown service port "htp" (did you mean "http"?) (service ports: http)',
    },
    {
      rule: 'endpoint port in range',
      text: withEndpoint('{ cluster: east, address: 127.0.0.1, port: 65536 }'),
      path: 'services[0].endpoints[0].port',
      line: 9,
      message: '65536 is out of range: must be in 1..65535',
    },
    {
      rule: 'label values are strings',
      text: withEndpoint('{ cluster: east, address: 127.0.0.1, port: 18081, labels: { version: 1 } }'),
      path: 'services[0].endpoints[0].labels.version',
      line: 9,
      message: 'must be a string, got 1 (a number); quote it if you mean the text: "1"',
    },
    {
      rule: 'label keys are label keys',
      text: withEndpoint('{ cluster: east, address: 127.0.0.1, port: 18081, labels: { "bad key": v1 } }'),
      path: 'services[0].endpoints[0].labels["bad key"]',
      line: 9,
      message: /"bad key" is not a label key/,
    },
    {
      rule: 'ready is a boolean',
      text: withEndpoint('{ cluster: east, address: 127.0.0.1, port: 18081, ready: yes }'),
      path: 'services[0].endpoints[0].ready',
      line: 9,
      message: 'must be true or false, got "yes" (a string)',
    },
    {
      rule: 'unknown endpoint key, with a hint',
      text: withEndpoint('{ cluster: east, adress: 127.0.0.1, port: 18081 }'),
      path: 'services[0].endpoints[0].adress',
      line: 9,
      message: 'unknown key "adress" (did you mean "address"?)',
    },
    {
      rule: 'duplicate endpoint (same cluster, address, port)',
      text: service(
        '    endpoints:',
        '      - { cluster: east, address: 127.0.0.1, port: 18081 }',
        '      - { cluster: west, address: 127.0.0.1, port: 18081 }',
        '      - { cluster: east, address: 127.0.0.1, ports: { http: 18081 } }',
      ),
      path: 'services[0].endpoints[2]',
      line: 11,
      message: 'duplicate endpoint east 127.0.0.1:18081 (same as services[0].endpoints[0])',
    },
  ];

  test.each(cases)('$rule', ({ text, path, line, message }) => {
    const errors = errorsOf(parseMeshText(text));
    const found = errors.find((error) => error.path === path);
    if (!found) throw new Error(`no error at ${path}; got:\n${formatMeshErrors('mesh.yaml', errors)}`);
    expect(found.line).toBe(line);
    if (typeof message === 'string') expect(found.message).toBe(message);
    else expect(found.message).toMatch(message);
    // One rule broken, one error: nothing cascades from it.
    expect(errors).toHaveLength(1);
  });

  test('several errors are all reported, in line order, formatted as FILE:LINE: PATH: MESSAGE', () => {
    const text = lines(
      'clusters:',
      '  - { name: east, region: r1, zone: r1-a, gateway: 127.0.0.2:15443 }',
      '  - { name: west, region: r1, zone: r1-b, gatewy: 127.0.0.3:15443 }',
      'services:',
      '  - name: checkout',
      '    namespace: shop',
      '    ports: [{ name: http, port: 80800 }]',
      '    endpoints:',
      '      - { cluster: east, address: 127.0.0.1, port: 18081 }',
      '      - { cluster: west, address: 10.0.0.300, port: 18082 }',
      '      - { cluster: nort, address: 127.0.0.1, port: 18083 }',
      '  - { name: ledger, namespace: shop, ports: [{ name: http, port: 8080 }], export: maybe }',
    );
    expect(formatMeshErrors('mesh.yaml', errorsOf(parseMeshText(text)))).toBe(
      [
        'mesh.yaml:3: clusters[1].gatewy: unknown key "gatewy" (did you mean "gateway"?)',
        'mesh.yaml:7: services[0].ports[0].port: 80800 is out of range: must be in 1..65535',
        'mesh.yaml:10: services[0].endpoints[1].address: "10.0.0.300" is not an IP address',
        'mesh.yaml:11: services[0].endpoints[2].cluster: unknown cluster "nort" (known: east, west)',
        'mesh.yaml:12: services[1].export: must be true or false, got "maybe" (a string)',
      ].join('\n'),
    );
  });

  test.each([
    {
      syntax: 'duplicate key',
      text: lines('clusters:', '  - name: east', '    zone: a', '    zone: b'),
      line: 4,
      message: /unique/,
    },
    { syntax: 'bad indentation', text: lines('clusters:', '  - name: east', '   region: x'), line: 3, message: /./ },
    {
      syntax: 'unclosed flow mapping',
      text: lines('clusters:', '  - { name: east, region: r', '  - x'),
      line: 3,
      message: /end with a }/,
    },
  ])('YAML syntax error ($syntax) is reported with its line', ({ text, line, message }) => {
    const [error, ...rest] = errorsOf(parseMeshText(text));
    expect(rest).toEqual([]);
    expect(error).toMatchObject({ path: '', line });
    expect(error?.message).toMatch(message);
    expect(formatMeshErrors('m.yaml', [error])).toMatch(new RegExp(`^m\\.yaml:${line}: [^:]`));
  });

  test('an unreadable file is one error without a line', () => {
    const errors = errorsOf(loadMeshFile('/nonexistent/mesh.yaml'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBeUndefined();
    expect(formatMeshErrors('/nonexistent/mesh.yaml', errors)).toMatch(
      /^\/nonexistent\/mesh\.yaml: cannot read the mesh file: ENOENT/,
    );
  });
});

describe("parseMeshText: a cluster behind Istio's east-west gateway", () => {
  const clusters = (west: string) =>
    lines('clusters:', '  - { name: east, region: r1, zone: r1-a, gateway: 127.0.0.2:15443 }', west, 'services: []');

  test('gatewayKind: istio marks the gateway; spillway (the default) does not', () => {
    const model = modelOf(
      parseMeshText(
        clusters('  - { name: west, region: r1, zone: r1-b, gateway: 127.0.0.3:15443, gatewayKind: istio }'),
      ),
    );
    expect(model.clusters.get('west')?.gateway).toEqual({ address: '127.0.0.3', port: 15443, kind: 'istio' });
    expect(model.clusters.get('east')?.gateway).toEqual({ address: '127.0.0.2', port: 15443 });
    const spillway = modelOf(
      parseMeshText(
        clusters('  - { name: west, region: r1, zone: r1-b, gateway: 127.0.0.3:15443, gatewayKind: spillway }'),
      ),
    );
    expect(spillway.clusters.get('west')?.gateway).toEqual({ address: '127.0.0.3', port: 15443 });
  });

  test('an unknown kind, or a kind without a gateway, is an error with its line', () => {
    const unknown = errorsOf(
      parseMeshText(
        clusters('  - { name: west, region: r1, zone: r1-b, gateway: 127.0.0.3:15443, gatewayKind: linkerd }'),
      ),
    );
    expect(unknown.map((e) => `${e.line} ${e.path}`)).toEqual(['3 clusters[1].gatewayKind']);
    const alone = errorsOf(parseMeshText(clusters('  - { name: west, region: r1, zone: r1-b, gatewayKind: istio }')));
    expect(alone.map((e) => `${e.line} ${e.path}: ${e.message}`)).toEqual([
      '3 clusters[1].gatewayKind: gatewayKind needs a gateway (HOST:PORT) in the same cluster',
    ]);
  });
});

describe('parseMeshText: hostile and careless files', () => {
  const CLUSTERS = ['clusters:', '  - { name: east, region: r1, zone: r1-a }', 'services:'];

  test('an alias bomb (1,000,000 endpoints from about 200 KB) is refused at once, naming the anchor', () => {
    const text = lines(
      ...CLUSTERS,
      '  - name: s0',
      '    namespace: shop',
      '    ports: &ports [{ name: http, port: 8080 }]',
      '    endpoints: &endpoints',
      ...Array.from(
        { length: 400 },
        (_, i) => `      - { cluster: east, address: 10.0.${i >> 8}.${i & 255}, port: 80 }`,
      ),
      ...Array.from(
        { length: 2_499 },
        (_, i) => `  - { name: s${i + 1}, namespace: shop, ports: *ports, endpoints: *endpoints }`,
      ),
    );
    const started = Date.now();
    const errors = errorsOf(parseMeshText(text));
    const elapsedMs = Date.now() - started;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: '', line: 7 });
    expect(errors[0]?.message).toMatch(
      /^YAML aliases expand this file from \d+ written nodes to \d+; most come from the 2499 aliases of &endpoints \(line 7\)/,
    );
    // Parsing 200 KB of YAML is most of it; walking a million endpoints took 44 s before.
    expect(elapsedMs).toBeLessThan(3_000);
  });

  test('aliases that share a ports list and labels across many services are fine, and fast', () => {
    const text = lines(
      ...CLUSTERS,
      '  - { name: s0, namespace: shop, ports: &ports [{ name: http, port: 8080 }], endpoints: [{ cluster: east, address: 10.0.0.1, port: 80, labels: &v1 { version: v1 } }] }',
      ...Array.from(
        { length: 3_000 },
        (_, i) =>
          `  - { name: s${i + 1}, namespace: shop, ports: *ports, endpoints: [{ cluster: east, address: 10.0.0.1, port: 80, labels: *v1 }] }`,
      ),
    );
    const started = Date.now();
    const model = modelOf(parseMeshText(text));
    expect(model.services.size).toBe(3_001);
    expect(entry(model, 's3000.shop.svc.cluster.local').endpoints[0]?.labels).toEqual({ version: 'v1' });
    // The yaml package resolves each alias by walking the whole document: these 6,000 aliases took 138 s.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test('an alias without an anchor before it, or inside its own anchor, is an error with its line', () => {
    expect(errorsOf(parseMeshText(lines(...CLUSTERS.slice(0, 2), 'services: *later')))).toEqual([
      { path: '', line: 3, message: 'alias *later has no anchor &later before it' },
    ]);
    expect(errorsOf(parseMeshText(lines('clusters: &loop', '  - { name: east, region: r1, zone: *loop }')))).toEqual([
      { path: '', line: 2, message: 'alias *loop is inside the node anchored &loop: it would repeat forever' },
    ]);
  });

  test(`at most ${MAX_LISTED_ERRORS} errors are listed, then how many more there are`, () => {
    const text = lines(
      ...CLUSTERS,
      '  - name: s0',
      '    namespace: shop',
      '    ports: [{ name: http, port: 8080 }]',
      '    endpoints:',
      ...Array.from({ length: 250 }, (_, i) => `      - { cluster: nort, address: 10.0.0.1, port: ${i + 1} }`),
    );
    const errors = errorsOf(parseMeshText(text));
    expect(errors).toHaveLength(MAX_LISTED_ERRORS + 1);
    expect(errors[MAX_LISTED_ERRORS]).toEqual({
      path: '',
      message: `and 150 more errors (only the first ${MAX_LISTED_ERRORS} are listed): fix these and validate again`,
    });
  });

  test(`a service may have at most ${MAX_ENDPOINTS_PER_SERVICE} endpoints`, () => {
    const text = lines(
      ...CLUSTERS,
      '  - name: s0',
      '    namespace: shop',
      '    ports: [{ name: http, port: 8080 }]',
      '    endpoints: [',
      ...Array.from(
        { length: MAX_ENDPOINTS_PER_SERVICE + 1 },
        (_, i) => `      {cluster: east, address: 10.0.${i >> 8}.${i & 255}, port: 80},`,
      ),
      '    ]',
    );
    expect(errorsOf(parseMeshText(text))).toEqual([
      {
        path: 'services[0].endpoints',
        line: 7,
        message: `${MAX_ENDPOINTS_PER_SERVICE + 1} endpoints, more than the ${MAX_ENDPOINTS_PER_SERVICE} a service may have (a built-in limit, see docs/OPERATIONS.md)`,
      },
    ]);
  });
});

describe('decodeUtf8', () => {
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

  test('valid UTF-8 decodes as is, a byte order mark dropped', () => {
    expect(decodeUtf8(bytes('zone: zürich\n'))).toEqual({ ok: true, text: 'zone: zürich\n' });
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], 'a: 1\n'))).toEqual({ ok: true, text: 'a: 1\n' });
  });

  test('the first invalid byte is located by line and column, past real replacement characters', () => {
    expect(decodeUtf8(bytes('a: 1\nzone: r', [0xe9], 'gion\n'))).toEqual({ ok: false, line: 2, column: 8, byte: 0xe9 });
    expect(decodeUtf8(bytes('a: \uFFFD ok\nb: x', [0xff]))).toEqual({ ok: false, line: 2, column: 5, byte: 0xff });
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], 'a: ', [0xc3, 0x28]))).toMatchObject({
      ok: false,
      line: 1,
      byte: 0xc3,
    });
  });
});

describe('readMeshFileBytes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-read-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a FIFO is refused at once, without opening it (which would block for good)', () => {
    const fifo = join(dir, 'mesh.yaml');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const read = readMeshFileBytes(fifo, { maxBytes: 1_000 });
    expect(Date.now() - started).toBeLessThan(500);
    expect(read).toMatchObject({
      kind: 'refused',
      error: { path: '', message: /^is a FIFO \(named pipe\), not a regular file; point --mesh at a regular file/ },
    });
    expect(errorsOf(loadMeshFile(fifo))[0]?.message).toMatch(/FIFO/);
  });

  test('a directory is refused; a symlink to a regular file is read', () => {
    expect(readMeshFileBytes(dir, { maxBytes: 1_000 })).toMatchObject({
      kind: 'refused',
      error: { message: /^is a directory, not a regular file/ },
    });
    writeFileSync(join(dir, 'real.yaml'), 'clusters: []\n');
    symlinkSync(join(dir, 'real.yaml'), join(dir, 'link.yaml'));
    expect(readMeshFileBytes(join(dir, 'link.yaml'), { maxBytes: 1_000 })).toMatchObject({
      kind: 'read',
      text: 'clusters: []\n',
    });
  });

  test('a file over the size limit is refused, naming the flag to raise; one at the limit is read', () => {
    const path = join(dir, 'mesh.yaml');
    writeFileSync(path, 'x'.repeat(100));
    expect(readMeshFileBytes(path, { maxBytes: 100 })).toMatchObject({ kind: 'read' });
    expect(readMeshFileBytes(path, { maxBytes: 99 })).toMatchObject({
      kind: 'refused',
      error: {
        message:
          'the file is 100 bytes, over the 99-byte limit; if the mesh is meant to be this big, raise --mesh-max-bytes (spillway serve and spillway validate)',
      },
    });
  });

  test('bytes that are not UTF-8 are refused with their line', () => {
    const path = join(dir, 'mesh.yaml');
    writeFileSync(
      path,
      Buffer.concat([
        Buffer.from('clusters:\n  - { name: east, region: r1, zone: r'),
        Buffer.from([0xfc]),
        Buffer.from(' }\n'),
      ]),
    );
    expect(formatMeshErrors(path, errorsOf(loadMeshFile(path)))).toBe(
      `${path}:2: byte 0xfc at column 38 is not valid UTF-8; the mesh file must be UTF-8 text (re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8)`,
    );
  });
});

describe('the embedded mesh', () => {
  test('is the same mesh as examples/mesh.yaml', () => {
    const fromFile = modelOf(loadMeshFile(join(__dirname, '../../../examples/mesh.yaml')));
    const embedded = modelOf(parseMeshText(EMBEDDED_MESH_YAML));
    expect(embedded).toEqual(fromFile);
    expect([...embedded.clusters.keys()]).toEqual(['east', 'west', 'south']);
    const checkout = entry(embedded, 'checkout.shop.svc.cluster.local');
    expect(checkout.service.exported).toBe(true);
    expect(checkout.service.canary).toEqual({
      stable: 'v1',
      canary: 'v2',
      weight: 10,
      header: { name: 'x-canary', exact: 'true' },
      order: 'version-first',
    });
    expect(checkout.endpoints.map((e) => `${e.cluster} ${e.ports.http} ${e.labels.version}`).sort()).toEqual([
      'east 18081 v1',
      'east 18085 v2',
      'south 18084 v1',
      'west 18082 v1',
      'west 18083 v1',
    ]);
    const ledger = entry(embedded, 'ledger.shop.svc.cluster.local');
    expect(ledger.service.exported).toBe(false);
    expect(ledger.endpoints.map((e) => `${e.cluster} ${e.ports.http}`)).toEqual(['west 18086']);
  });
});

describe('MeshFileSource: hot reload', () => {
  const WAIT_LIMIT_MS = 3_000;
  async function waitFor(what: string, condition: () => boolean): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  const meshWith = (ports: number[]) =>
    lines(
      'clusters:',
      '  - { name: east, region: r1, zone: r1-a }',
      'services:',
      '  - name: checkout',
      '    namespace: shop',
      '    ports: [{ name: http, port: 8080 }]',
      '    endpoints:',
      ...ports.map((port) => `      - { cluster: east, address: 127.0.0.1, port: ${port} }`),
    );
  const endpointPorts = (model: MeshModel) =>
    model.services.get('checkout.shop.svc.cluster.local')?.endpoints.map((e) => e.ports.http);

  let dir: string;
  let store: MeshStore;
  let source: MeshFileSource | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'spillway-mesh-'));
    store = new MeshStore({ quietMs: 10, maxDelayMs: 50 });
  });
  afterEach(async () => {
    source?.stop();
    store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Saves like an editor does: write a new file, then rename it over the old one. */
  async function save(path: string, text: string): Promise<void> {
    await fs.writeFile(`${path}.tmp`, text);
    await fs.rename(`${path}.tmp`, path);
  }

  test('applies good edits, rejects bad ones (keeping the last good mesh), and recovers', async () => {
    const path = join(dir, 'mesh.yaml');
    await fs.writeFile(path, meshWith([18081]));
    const logs: { level: number; msg: string; hint?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const published: MeshModel[] = [];
    store.onChange((model) => published.push(model));
    const reloads: MeshParseResult[] = [];
    source = new MeshFileSource({ path, store, logger, pollIntervalMs: 50 });
    source.onReload((result) => reloads.push(result));

    const first = source.start();
    expect(first.ok).toBe(true);
    await waitFor('the first model', () => published.length === 1);
    expect(endpointPorts(store.current())).toEqual([18081]);

    await save(path, meshWith([18081, 18082]));
    await waitFor('the edited model', () => published.length === 2);
    expect(endpointPorts(store.current())).toEqual([18081, 18082]);
    expect(source.stats.reloads).toBe(1);
    expect(source.stats.lastGoodAtMs).toBeDefined();

    const good = store.current();
    await save(
      path,
      meshWith([18081, 18082]).replace(
        'cluster: east, address: 127.0.0.1, port: 18082',
        'cluster: nort, address: 127.0.0.1, port: 18082',
      ),
    );
    await waitFor('the rejection', () => source?.stats.rejected === 1);
    expect(store.current()).toBe(good);
    expect(source.stats.lastError).toBe(
      `${path}:9: services[0].endpoints[1].cluster: unknown cluster "nort" (known: east)`,
    );
    const errorLog = logs.find((log) => log.level === 50);
    expect(errorLog?.msg).toContain('unknown cluster "nort"');
    expect(errorLog?.hint).toBe(KEEP_SERVING_HINT);
    expect(reloads.map((result) => result.ok)).toEqual([true, false]);

    await save(path, meshWith([18083]));
    await waitFor('the fixed model', () => published.length === 3);
    expect(endpointPorts(store.current())).toEqual([18083]);
    expect(source.stats).toMatchObject({ reloads: 2, rejected: 1 });

    const fixed = store.current();
    await fs.unlink(path);
    await waitFor('the deletion to be rejected', () => source?.stats.rejected === 2);
    expect(store.current()).toBe(fixed);
    expect(source.stats.lastError).toMatch(/cannot read the mesh file/);
  });

  test('issues(): a rejection says where, since when and what is served instead; a big removal warns', async () => {
    const path = join(dir, 'mesh.yaml');
    const withServices = (count: number) =>
      lines(
        'clusters:',
        '  - { name: east, region: r1, zone: r1-a }',
        'services:',
        ...Array.from(
          { length: count },
          (_, i) => `  - { name: s${i}, namespace: shop, ports: [{ name: http, port: 80 }] }`,
        ),
      );
    await fs.writeFile(path, withServices(4));
    const logs: { level: number; msg: string }[] = [];
    source = new MeshFileSource({
      path,
      store,
      logger: pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
      pollIntervalMs: 50,
      settleMs: 50,
    });
    expect(source.start().ok).toBe(true);
    expect(source.issues()).toEqual([]);
    const version = createHash('sha256').update(withServices(4)).digest('hex').slice(0, 12);

    await save(path, 'clusters: []\n');
    await waitFor('the rejection', () => source?.stats.rejected === 1);
    const [first] = source.issues();
    expect(first).toMatchObject({
      source: 'file',
      severity: 'error',
      summary: `mesh file ${path} rejected: the last good version keeps being served; fix the file and save it again (by rename)`,
      details: [
        `${path}:1: clusters: the mesh needs at least one cluster: with none, every proxy would be sent an empty configuration`,
      ],
      serving: { version, clusters: 1, services: 4, endpoints: 0 },
    });
    await save(path, 'clusters: [\n');
    await waitFor('the second rejection', () => source?.stats.rejected === 2);
    const [second] = source.issues();
    expect(second?.sinceMs).toBe(first?.sinceMs);
    expect(second?.lastSeenMs).toBeGreaterThanOrEqual(first?.lastSeenMs);

    await save(path, withServices(1));
    await waitFor('the shrunken mesh', () => store.current().services.size === 1);
    expect(source.issues()).toMatchObject([
      {
        severity: 'warning',
        summary: /^the new mesh file removed 3 of 4 services \(75%\)/,
        details: [
          'removed s1.shop.svc.cluster.local',
          'removed s2.shop.svc.cluster.local',
          'removed s3.shop.svc.cluster.local',
        ],
      },
    ]);
    expect(logs.filter((log) => log.level === 40).map((log) => log.msg)).toEqual([
      expect.stringMatching(/removed 3 of 4 services/),
    ]);

    await save(path, withServices(2));
    await waitFor('the grown mesh', () => store.current().services.size === 2);
    expect(source.issues()).toEqual([]);
  });

  test('an invalid file at start sets no shard; a later fix is picked up', async () => {
    const path = join(dir, 'mesh.yaml');
    await fs.writeFile(path, 'clusters: [\n');
    source = new MeshFileSource({ path, store, logger: pino({ level: 'silent' }), pollIntervalMs: 50 });
    const first = source.start();
    expect(errorsOf(first)[0]?.line).toBeDefined();
    expect(source.stats.rejected).toBe(1);
    expect(store.current().clusters.size).toBe(0);

    await fs.writeFile(path, meshWith([18081]));
    await waitFor('the fixed model', () => store.current().clusters.size === 1);
    expect(endpointPorts(store.current())).toEqual([18081]);
  });
});
