// deploy/kubernetes against a REAL kube-apiserver: every object is created as a server-side dry run with
// strict field validation (the API server's own schemas reject unknown or misplaced fields), and the RBAC
// is applied for real and asked, through SubjectAccessReviews, what Spillway's service account may do.
import { pluralOf } from '../harness/kube-plurals';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { repoRoot } from '../harness';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  kubeRequest,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../harness/kube-apiserver';

jest.setTimeout(90_000);

const K8S_DIR = path.join(repoRoot(), 'deploy', 'kubernetes');
/** The app namespace the sidecar bootstrap example lives in. */
const APP_NAMESPACE = 'shop';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

function manifests(): { file: string; object: KubeObject }[] {
  return fs
    .readdirSync(K8S_DIR)
    .filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml')
    .flatMap((name) =>
      YAML.parseAllDocuments(fs.readFileSync(path.join(K8S_DIR, name), 'utf8'))
        .map((doc) => doc.toJS() as KubeObject | null)
        .filter((object): object is KubeObject => object !== null)
        .map((object) => ({ file: name, object })),
    );
}

function collectionPath(object: KubeObject): string {
  const plural = pluralOf(object.kind);
  const root = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  return object.metadata.namespace ? `${root}/namespaces/${object.metadata.namespace}/${plural}` : `${root}/${plural}`;
}

let server: KubeApiServer;
let target: KubeTarget;

beforeAll(async () => {
  server = await startKubeApiServer({ name: 'manifests' });
  target = { url: server.url, token: server.token, caFile: server.caFile };
  for (const object of manifests()
    .map((m) => m.object)
    .filter((o) => o.kind === 'Namespace'))
    await kubeCall(target, 'POST', collectionPath(object), object);
  await kubeCall(target, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: APP_NAMESPACE },
  });
});

afterAll(async () => {
  await stopAllKubeApiServers();
});

test('every object of deploy/kubernetes passes a strict server-side dry run', async () => {
  const objects = manifests().filter((m) => m.object.kind !== 'Namespace');
  expect(objects.length).toBeGreaterThan(10);
  const failures: string[] = [];
  for (const { file, object } of objects) {
    const response = await kubeRequest(
      target,
      'POST',
      `${collectionPath(object)}?dryRun=All&fieldValidation=Strict`,
      object,
    );
    if (response.status !== 201)
      failures.push(
        `${file}: ${object.kind} ${object.metadata.name}: ${response.status} ${JSON.stringify(response.body).slice(0, 600)}`,
      );
  }
  expect(failures).toEqual([]);
});

test("the ClusterRole lets Spillway's service account watch what discovery reads, and write nothing", async () => {
  for (const { object } of manifests().filter((m) =>
    ['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount'].includes(m.object.kind),
  )) {
    await kubeCall(target, 'POST', collectionPath(object), object);
  }
  const user = 'system:serviceaccount:spillway-system:spillway';
  const allowed = async (verb: string, group: string, resource: string): Promise<boolean> => {
    const review = (await kubeCall(target, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user,
        groups: ['system:serviceaccounts'],
        resourceAttributes: { verb, group, resource, namespace: APP_NAMESPACE },
      },
    })) as { status?: { allowed?: boolean } };
    return review.status?.allowed === true;
  };
  for (const [group, resource] of [
    ['', 'services'],
    ['', 'pods'],
    ['discovery.k8s.io', 'endpointslices'],
    ['multicluster.x-k8s.io', 'serviceexports'],
  ] as const) {
    for (const verb of ['get', 'list', 'watch'])
      expect({ verb, resource, allowed: await allowed(verb, group, resource) }).toEqual({
        verb,
        resource,
        allowed: true,
      });
    for (const verb of ['create', 'update', 'delete'])
      expect({ verb, resource, allowed: await allowed(verb, group, resource) }).toEqual({
        verb,
        resource,
        allowed: false,
      });
  }
  expect(await allowed('get', '', 'secrets')).toBe(false);
});
