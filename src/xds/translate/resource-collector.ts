// Where translators put what they build. The collector encodes, through a memo when given one.
import {
  EncodeOptions,
  EncodedResource,
  encodeResource,
  encodeRouteTable,
  virtualHostField,
} from '../resource/encoded-resource';
import { ResourceMessages, RouteTable, VirtualHost } from '../resource/envoy-messages';
import { ROUTE_TYPE, XdsTypeUrl } from '../resource-types';

/** Encodes a resource message of the type its URL names. */
export type ResourceEncoder = <T extends XdsTypeUrl>(
  typeUrl: T,
  name: string,
  message: ResourceMessages[T],
  options?: EncodeOptions,
) => EncodedResource;

export class ResourceCollector {
  readonly resources: EncodedResource[] = [];

  constructor(private readonly encoder: ResourceEncoder = encodeResource) {}

  add<T extends XdsTypeUrl>(typeUrl: T, name: string, message: ResourceMessages[T], options?: EncodeOptions): void {
    this.resources.push(this.encoder(typeUrl, name, message, options));
  }

  /** Encodes without adding (for a resource assembled from memoised parts, added later with addEncoded). */
  encode<T extends XdsTypeUrl>(
    typeUrl: T,
    name: string,
    message: ResourceMessages[T],
    options?: EncodeOptions,
  ): EncodedResource {
    return this.encoder(typeUrl, name, message, options);
  }

  /** A route table, encoded a virtual host at a time (see encodeRouteTable): never through the memo. */
  encodeRouteTable(name: string, message: RouteTable): EncodedResource {
    return encodeRouteTable(ROUTE_TYPE, name, message);
  }

  /** Encodes virtual hosts now (with their service), so assembling the table later costs no encoding. */
  prepareVirtualHosts(virtualHosts: VirtualHost[]): VirtualHost[] {
    for (const virtualHost of virtualHosts) virtualHostField(virtualHost);
    return virtualHosts;
  }

  addEncoded(resources: readonly EncodedResource[]): void {
    for (const resource of resources) this.resources.push(resource);
  }

  /** A collector with the same encoder and filter, whose resources are merged with absorb(). */
  scratch(): ResourceCollector {
    return new ResourceCollector(this.encoder);
  }

  absorb(other: ResourceCollector): void {
    this.resources.push(...other.resources);
  }
}
