// Typed reads out of untrusted JSON (what an API server sends), each error naming the field's path, so a
// malformed object is reported precisely ("spec.ports[1].port: must be a whole number") and then skipped.

export type JsonObject = Readonly<Record<string, unknown>>;

export class JsonReader {
  readonly errors: string[] = [];

  isObject(value: unknown): value is JsonObject {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  }

  /** The object at `path`, or undefined (reported unless optional and absent). */
  object(value: unknown, path: string, optional = false): JsonObject | undefined {
    if (value === undefined || value === null) return optional ? undefined : this.fail(path, 'is missing');
    return this.isObject(value) ? value : this.fail(path, `must be an object, got ${describe(value)}`);
  }

  list(value: unknown, path: string): readonly unknown[] {
    if (value === undefined || value === null) return []; // Kubernetes omits empty lists.
    if (Array.isArray(value)) return value;
    this.fail(path, `must be a list, got ${describe(value)}`);
    return [];
  }

  string(value: unknown, path: string): string | undefined {
    return typeof value === 'string' && value !== ''
      ? value
      : this.fail(path, `must be a non-empty string, got ${describe(value)}`);
  }

  optionalString(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    return typeof value === 'string' ? value : this.fail(path, `must be a string, got ${describe(value)}`);
  }

  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return this.fail(path, `must be a whole number, got ${describe(value)}`);
    return value >= min && value <= max ? value : this.fail(path, `${value} is out of range ${min}..${max}`);
  }

  optionalBoolean(value: unknown, path: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    return typeof value === 'boolean' ? value : this.fail(path, `must be true or false, got ${describe(value)}`);
  }

  /** A map of string to string (labels, annotations); wrong entries are reported and dropped. */
  stringMap(value: unknown, path: string): Record<string, string> {
    const map: Record<string, string> = {};
    const object = this.object(value, path, true);
    for (const [key, entry] of Object.entries(object ?? {})) {
      if (typeof entry === 'string') map[key] = entry;
      else this.fail(`${path}[${JSON.stringify(key)}]`, `must be a string, got ${describe(entry)}`);
    }
    return map;
  }

  fail(path: string, message: string): undefined {
    this.errors.push(`${path}: ${message}`);
    return undefined;
  }
}

export function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `"${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${value} (a ${typeof value})`;
  return `a ${typeof value}`;
}
