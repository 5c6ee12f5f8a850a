// What a mesh file may cost the server, in one place (docs/OPERATIONS.md, "Mesh file limits and careless
// writes", explains each to operators). A file over a limit is rejected like any invalid file: the last
// good mesh keeps being served and the error says which limit was hit.

/**
 * Default of --mesh-max-bytes. A 50,000-service mesh is about 11 MB; 32 MiB leaves three times that,
 * while bounding what one careless `cat big.log > mesh.yaml` (or a hostile writer) makes the server parse.
 */
export const DEFAULT_MESH_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Default of --mesh-settle-ms: the file must keep the same size and modification time this long before
 * it is read, so a save written in steps is never served half-written. Short enough that an edit still
 * reaches proxies within half a second.
 */
export const DEFAULT_MESH_SETTLE_MS = 300;

/** Services in one mesh file: three times the largest mesh measured (50,000 services). */
export const MAX_SERVICES = 150_000;

/** Endpoints of one service: each becomes a host in every proxy's load assignment for it. */
export const MAX_ENDPOINTS_PER_SERVICE = 20_000;

/** Alias expansion and listed errors are bounds of every configuration file (src/config-validation/). */
export { ALIAS_FREE_NODES } from '../../config-validation/yaml-checker';
export { MAX_LISTED_ERRORS } from '../../config-validation/error-list';

export interface MeshFileLimits {
  maxBytes: number;
}

export const DEFAULT_MESH_FILE_LIMITS: MeshFileLimits = { maxBytes: DEFAULT_MESH_MAX_BYTES };
