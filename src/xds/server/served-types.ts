// Which resource types one discovery service carries: all four on ADS, one on a per-type service.
import * as grpc from '@grpc/grpc-js';
import { PUSH_ORDER, SUPPORTED_TYPES_TEXT, XdsTypeUrl, isXdsTypeUrl, shortTypeName } from '../resource-types';
import { bounded } from './bounded-text';
import { StreamClosedError } from './stream-end';

export class ServedTypes {
  constructor(
    private readonly serviceName: string,
    private readonly types: readonly XdsTypeUrl[],
  ) {}

  /** The aggregated service (all types on one stream). */
  get isAds(): boolean {
    return this.types.length === PUSH_ORDER.length;
  }

  /** The request's type when this service carries it; throws otherwise. */
  check(typeUrl: string): XdsTypeUrl {
    if (isXdsTypeUrl(typeUrl) && this.types.includes(typeUrl)) return typeUrl;
    const served = this.isAds ? SUPPORTED_TYPES_TEXT : this.types.map(shortTypeName).join(', ');
    throw new StreamClosedError(
      grpc.status.INVALID_ARGUMENT,
      `unsupported type_url "${bounded(typeUrl, 200)}" on ${this.serviceName}; this server serves ${served}`,
    );
  }
}
