// Pure translation entry point: (model, view) -> resources, plus the issues found on the way.
import { MeshModel } from '../../mesh/model';
import { ViewKey } from '../node/view-key';
import { gatewayViewSteps } from './gateway-translator';
import { ViewTranslation, sidecarViewSteps } from './sidecar-translator';
import { ResourceCollector } from './resource-collector';
import { ServiceParts } from './service-parts';
import { Steps, runToEnd } from '../steps';

/**
 * One view as steps (see steps.ts); `out` decides how resources are encoded and which types are kept,
 * `parts` remembers per-service results across views and rebuilds.
 */
export function* viewSteps(
  model: MeshModel,
  viewKey: ViewKey,
  out: ResourceCollector = new ResourceCollector(),
  parts?: ServiceParts,
): Steps<ViewTranslation> {
  const view = viewKey.view;
  if (!model.clusters.has(view.clusterId)) {
    return {
      resources: [],
      issues: [{ service: '*', message: `cluster "${view.clusterId}" is no longer in the mesh` }],
    };
  }
  return yield* view.role === 'gateway'
    ? gatewayViewSteps(model, view, out, parts)
    : sidecarViewSteps(model, view, out, parts);
}

/** Translates one view at once. */
export function translateView(
  model: MeshModel,
  viewKey: ViewKey,
  out: ResourceCollector = new ResourceCollector(),
  parts?: ServiceParts,
): ViewTranslation {
  return runToEnd(viewSteps(model, viewKey, out, parts));
}
