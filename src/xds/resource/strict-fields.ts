// protobufjs `fromObject` silently drops keys it does not know, so a misspelled field in a builder
// (`outlier_detecton`) would reach Envoy as nothing. This walks a message as built against its proto type
// and names every key the type does not have, before anything is encoded.
import * as protobuf from 'protobufjs';

const ANY_TYPE = 'google.protobuf.Any';
// Free-form by design: their keys are data, not field names.
const FREE_FORM = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue']);
const TYPE_URL_PREFIX = 'type.googleapis.com/';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function fieldOf(type: protobuf.Type, key: string): protobuf.Field | undefined {
  // Builders use proto (snake_case) names; protobufjs also accepts the camelCase JSON names.
  return (
    type.fields[key] ??
    type.fieldsArray.find((field) => field.name === key || protobuf.util.camelCase(field.name) === key)
  );
}

function checkValue(field: protobuf.Field, value: unknown, path: string, out: string[]): void {
  const resolved = field.resolvedType;
  if (!(resolved instanceof protobuf.Type)) return; // scalars and enums: fromObject/verify judge the value
  if (field.map) {
    if (isPlainObject(value))
      for (const [key, item] of Object.entries(value)) checkMessage(resolved, item, `${path}[${key}]`, out);
    return;
  }
  if (field.repeated && Array.isArray(value)) {
    value.forEach((item, index) => checkMessage(resolved, item, `${path}[${index}]`, out));
    return;
  }
  checkMessage(resolved, value, path, out);
}

function checkAny(root: protobuf.Root, value: Record<string, unknown>, path: string, out: string[]): void {
  const typeUrl = value['@type'];
  if (typeof typeUrl !== 'string') {
    // The binary form {type_url, value}: nothing to look into.
    for (const key of Object.keys(value))
      if (!['type_url', 'typeUrl', 'value'].includes(key)) out.push(`${path}.${key}`);
    return;
  }
  const typeName = typeUrl.startsWith(TYPE_URL_PREFIX) ? typeUrl.slice(TYPE_URL_PREFIX.length) : typeUrl;
  let inner: protobuf.Type;
  try {
    inner = root.lookupType(typeName);
  } catch {
    out.push(`${path}['@type'] (unknown type ${typeUrl})`);
    return;
  }
  const { '@type': _ignored, ...fields } = value;
  checkMessage(inner, fields, path, out);
}

function checkMessage(type: protobuf.Type, value: unknown, path: string, out: string[]): void {
  if (!isPlainObject(value) || FREE_FORM.has(type.fullName.replace(/^\./, ''))) return;
  if (type.fullName === `.${ANY_TYPE}`) {
    checkAny(type.root, value, path, out);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const field = fieldOf(type, key);
    if (!field) {
      out.push(`${path}.${key}`);
      continue;
    }
    checkValue(field, item, `${path}.${key}`, out);
  }
}

/** The paths of keys in `message` that `type` (and the types it nests, through Any too) has no field for. */
export function unknownFieldPaths(type: protobuf.Type, message: object): string[] {
  const out: string[] = [];
  checkMessage(type, message, type.name, out);
  return out;
}
