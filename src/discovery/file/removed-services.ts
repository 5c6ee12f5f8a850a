// A reload that drops most services is valid and is served, but it is far more often a truncated or
// wrong file than an intended change: say so loudly (a warn log line and /debug/issues).
import { MeshModel } from '../../mesh/model';

/** Hosts named in the warning; the count says how many more. */
const LISTED_HOSTS = 20;

export interface RemovedServices {
  summary: string;
  details: string[];
  removed: number;
  before: number;
}

/** A warning when `next` lacks more than half of the services `previous` had, else undefined. */
export function removedServicesWarning(previous: MeshModel, next: MeshModel): RemovedServices | undefined {
  const removed = [...previous.services.keys()].filter((host) => !next.services.has(host));
  const before = previous.services.size;
  if (removed.length === 0 || removed.length * 2 <= before) return undefined;
  const percent = Math.round((removed.length / before) * 100);
  const details = removed.slice(0, LISTED_HOSTS).map((host) => `removed ${host}`);
  if (removed.length > LISTED_HOSTS) details.push(`and ${removed.length - LISTED_HOSTS} more`);
  return {
    summary: `the new mesh file removed ${removed.length} of ${before} services (${percent}%): every proxy loses its routes to them; if that was not meant, restore the previous file`,
    details,
    removed: removed.length,
    before,
  };
}
