// Pure translation entry point: (model, view) -> resources, plus the issues found on the way.
import { MeshModel } from '../../mesh/model';
import { Snapshot } from '../cache/snapshot';
import { ViewKey } from '../cache/snapshot-cache';
import { parseViewKey } from './client-view';
import { translateGatewayView } from './gateway-translator';
import { ViewTranslation, translateSidecarView } from './sidecar-translator';
import { ResourceCollector } from './resource-collector';

/** Translates one view; `out` decides how resources are encoded and which types are kept. */
export function translateView(model: MeshModel, viewKey: ViewKey, out: ResourceCollector = new ResourceCollector()): ViewTranslation {
  const view = parseViewKey(viewKey);
  if (!model.clusters.has(view.clusterId)) {
    return { resources: [], issues: [{ service: '*', message: `cluster "${view.clusterId}" is no longer in the mesh` }] };
  }
  return view.role === 'gateway' ? translateGatewayView(model, view, out) : translateSidecarView(model, view, out);
}

export function snapshotOf(translation: ViewTranslation): Snapshot {
  return new Snapshot(translation.resources);
}
