// Renders one translated view as stable YAML for golden files: resources grouped by type in push order
// (CDS, EDS, LDS, RDS), sorted by name, each with its version and its content as decoded from the bytes a
// client receives; then the translation issues.
import { stringify } from 'yaml';
import { EncodedResource } from '../../src/xds/resource/encoded-resource';
import { PUSH_ORDER, shortTypeName } from '../../src/xds/resource-types';
import { ViewTranslation } from '../../src/xds/translate/sidecar-translator';
import { decodeOnWire } from './wire-decode';

interface RenderedResource {
  name: string;
  version: string;
  /** Only written when false, the exception (resources served only by name). */
  inWildcard?: false;
  resource: object;
}

function byName(a: EncodedResource, b: EncodedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function renderResource(resource: EncodedResource): RenderedResource {
  return {
    name: resource.name,
    version: resource.version,
    ...(resource.inWildcard ? {} : { inWildcard: false as const }),
    // What Envoy receives: the encoded bytes decoded again, so a key the encoder dropped cannot hide here.
    resource: decodeOnWire(resource),
  };
}

export function renderTranslation(translation: ViewTranslation): string {
  const document: Record<string, unknown> = {};
  for (const typeUrl of PUSH_ORDER) {
    document[shortTypeName(typeUrl)] = translation.resources
      .filter((r) => r.typeUrl === typeUrl)
      .sort(byName)
      .map(renderResource);
  }
  document.issues = translation.issues;
  // Builder key order is meaningful to a reader (name first); a shared object must not become an alias.
  return stringify(document, { sortMapEntries: false, aliasDuplicateObjects: false, lineWidth: 0 });
}
