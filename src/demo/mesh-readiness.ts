// Marks every endpoint of one cluster ready or not ready in a mesh file, keeping its comments and layout:
// the demo's "drain east" key does exactly what a user editing the file (or Kubernetes readiness) does.
import * as fs from 'fs';
import * as YAML from 'yaml';

/** The text with `ready: false` set (ready = false) or removed (ready = true) on the cluster's endpoints. */
export function setClusterReadiness(
  meshText: string,
  cluster: string,
  ready: boolean,
): { text: string; changed: number } {
  const document = YAML.parseDocument(meshText);
  let changed = 0;
  const services = document.get('services');
  if (!YAML.isSeq(services)) return { text: meshText, changed };
  for (const service of services.items) {
    if (!YAML.isMap(service)) continue;
    const endpoints = service.get('endpoints');
    if (!YAML.isSeq(endpoints)) continue;
    for (const endpoint of endpoints.items) {
      if (!YAML.isMap(endpoint) || endpoint.get('cluster') !== cluster) continue;
      const current = endpoint.get('ready') !== false;
      if (current === ready) continue;
      if (ready) endpoint.delete('ready');
      else endpoint.set('ready', false);
      changed++;
    }
  }
  return { text: changed > 0 ? document.toString() : meshText, changed };
}

/** Write then rename, as editors do, so the file watcher never reads half a file. */
export function writeFileAtomically(file: string, text: string): void {
  const temp = `${file}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

export function setClusterReadinessInFile(file: string, cluster: string, ready: boolean): number {
  const { text, changed } = setClusterReadiness(fs.readFileSync(file, 'utf8'), cluster, ready);
  if (changed > 0) writeFileAtomically(file, text);
  return changed;
}
