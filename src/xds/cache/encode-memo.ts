// Encodes each distinct resource once, however many views contain it and however often views are
// rebuilt: identical (type, name, content) reuses the same bytes. Entries not used during the last two
// rebuild generations are dropped, so memory follows the live mesh, not its history.
import { EncodeOptions, EncodedResource, encodeResource } from '../resource/encoded-resource';
import { ResourceMessages } from '../resource/envoy-messages';
import { XdsTypeUrl } from '../resource-types';

export class EncodeMemo {
  private current = new Map<string, EncodedResource>();
  private previous = new Map<string, EncodedResource>();
  hits = 0;
  misses = 0;

  /** Starts a rebuild generation: what the last one did not use is forgotten. */
  nextGeneration(): void {
    this.previous = this.current;
    this.current = new Map();
  }

  encode<T extends XdsTypeUrl>(
    typeUrl: T,
    name: string,
    message: ResourceMessages[T],
    options: EncodeOptions = {},
  ): EncodedResource {
    const key = `${typeUrl}\u0000${name}\u0000${options.inWildcard === false ? 0 : 1}\u0000${JSON.stringify(message)}`;
    let resource = this.current.get(key);
    if (!resource) {
      resource = this.previous.get(key);
      if (resource) this.current.set(key, resource);
    }
    if (resource) {
      this.hits++;
      return resource;
    }
    this.misses++;
    resource = encodeResource(typeUrl, name, message, options);
    this.current.set(key, resource);
    return resource;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
