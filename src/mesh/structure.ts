// The part of the model that decides which clusters, listeners and routes exist (everything but the
// endpoints' addresses and readiness). When a change leaves it equal, only endpoints changed, and
// translation takes the EDS fast path.
import { MeshModel } from './model';
import { subsetsOf } from './rules';

export function structureKey(model: MeshModel): string {
  const services = [...model.services.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([host, entry]) => [host, entry.service, [...new Set(entry.endpoints.map((e) => e.cluster))].sort(), subsetsOf(entry)]);
  const clusters = [...model.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return JSON.stringify([clusters, services]);
}
