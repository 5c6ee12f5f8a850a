// Discovery requests as the streams read them (decoded in sotw-request.ts and delta-request.ts).
import { NodeInfo } from '../node/node-info';

export interface ErrorDetail {
  code: number;
  message: string;
}

export interface SotwRequest {
  readonly versionInfo: string;
  /** Decoded when read (once per stream): check `nodeBytes` against the node limits first. */
  readonly node?: NodeInfo;
  readonly nodeBytes?: Uint8Array;
  readonly resourceNames: string[];
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
  /** Equal digests: byte-identical name lists; undefined when unknown (decoded in sotw-request.ts). */
  readonly namesDigest?: string;
  /** The resource_names fields as they came on the wire, when contiguous. */
  readonly namesRegion?: Buffer;
}

/** Decoded in delta-request.ts. */
export interface DeltaRequest {
  readonly node?: NodeInfo;
  readonly nodeBytes?: Uint8Array;
  readonly typeUrl: string;
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  readonly initialVersions: ReadonlyMap<string, string>;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
}

export function toErrorDetail(raw: { code?: number; message?: string } | undefined): ErrorDetail | undefined {
  if (!raw) return undefined;
  return { code: raw.code ?? 0, message: raw.message ?? '' };
}
