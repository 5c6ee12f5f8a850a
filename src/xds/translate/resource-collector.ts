// Where translators put what they build. The collector encodes (through a memo, when given one) and can
// keep only some types: the endpoints-only fast path builds EDS and nothing else.
import { EncodeOptions, EncodedResource, encodeResource } from '../cache/resource';
import { XdsTypeUrl } from '../resource-types';

export type ResourceEncoder = (typeUrl: XdsTypeUrl, name: string, message: object, options?: EncodeOptions) => EncodedResource;

export class ResourceCollector {
  readonly resources: EncodedResource[] = [];

  constructor(
    private readonly encoder: ResourceEncoder = encodeResource,
    private readonly onlyTypes?: ReadonlySet<XdsTypeUrl>,
  ) {}

  wants(typeUrl: XdsTypeUrl): boolean {
    return !this.onlyTypes || this.onlyTypes.has(typeUrl);
  }

  add(typeUrl: XdsTypeUrl, name: string, message: object, options?: EncodeOptions): void {
    if (this.wants(typeUrl)) this.resources.push(this.encoder(typeUrl, name, message, options));
  }

  /** A collector with the same encoder and filter, whose resources are merged with absorb(). */
  scratch(): ResourceCollector {
    return new ResourceCollector(this.encoder, this.onlyTypes);
  }

  absorb(other: ResourceCollector): void {
    this.resources.push(...other.resources);
  }
}

