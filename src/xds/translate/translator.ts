// Pure translation entry point: (model, view) -> resources, plus the issues found on the way.
import { MeshModel } from '../../mesh/model';
import { Snapshot } from '../cache/snapshot';
import { ViewKey } from '../cache/snapshot-cache';
import { parseViewKey } from './client-view';
import { translateGatewayView } from './gateway-translator';
import { ViewTranslation, translateSidecarView } from './sidecar-translator';

export function translateView(model: MeshModel, viewKey: ViewKey): ViewTranslation {
  const view = parseViewKey(viewKey);
  if (!model.clusters.has(view.clusterId)) {
    return { resources: [], issues: [{ service: '*', message: `cluster "${view.clusterId}" is no longer in the mesh` }] };
  }
  return view.role === 'gateway' ? translateGatewayView(model, view) : translateSidecarView(model, view);
}

export function snapshotOf(translation: ViewTranslation): Snapshot {
  return new Snapshot(translation.resources);
}
