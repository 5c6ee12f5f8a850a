// REST collection names of the kinds our manifests use, for server-side dry runs against a real API server.
export const KUBE_PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  ServiceAccount: 'serviceaccounts',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Deployment: 'deployments',
  Service: 'services',
  PodDisruptionBudget: 'poddisruptionbudgets',
};

export function pluralOf(kind: string): string {
  const plural = KUBE_PLURALS[kind];
  if (!plural) throw new Error(`add the plural of ${kind} to KUBE_PLURALS (test/harness/kube-plurals.ts)`);
  return plural;
}
