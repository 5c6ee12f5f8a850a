// Typed, located reading of a YAML configuration file: every check reports at the node's own line and
// path into one capped error list, so one run lists everything there is to fix. It walks the YAML node
// tree (not the plain JS value) because only the nodes know their lines. The mesh file and the clusters
// file are both read with it.
import { Alias, LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { ConfigError } from './config-error';
import { ErrorList, listed } from './error-list';
import { DNS_LABEL, LABEL_VALUE, closest, didYouMean, isLabelKey } from './value-rules';
import { AliasReport, resolveAliases } from './yaml-aliases';

/**
 * YAML aliases (`*name`) may add at most as many nodes as the file writes out, or this many, whichever
 * is larger: sharing a ports list or labels is fine, turning 150 KB into a million endpoints is not.
 */
export const ALIAS_FREE_NODES = 100_000;

/** A node of the document with where it is. */
export interface At {
  node: unknown;
  path: string;
  line: number;
}

/** Words of the messages that differ between files (each keeps what its users and scripts know). */
export interface Wording {
  /** A required key that is absent. */
  missingKey: (key: string) => string;
  /** What a DNS label is, in the error for a value that is not one. */
  dnsLabelRule: string;
}

export const DEFAULT_WORDING: Wording = {
  missingKey: (key) => `missing required key "${key}"`,
  dnsLabelRule: "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
};

export type OpenedYaml = { ok: true; checker: YamlChecker; root: At } | { ok: false; errors: ConfigError[] };

/**
 * Parses a document and resolves its aliases. Syntax errors, and aliases that point nowhere, into
 * themselves or blow the document up, refuse it before any walk (the tree of a document with syntax
 * errors is partial: report the syntax, not its consequences). May throw RangeError on a too deeply
 * nested text: the parser and the walks recurse once per nesting level.
 */
export function openYaml(text: string, wording: Wording = DEFAULT_WORDING): OpenedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: listed(
        doc.errors.map((error) => ({ path: '', line: lineCounter.linePos(error.pos[0]).line, message: error.message })),
      ),
    };
  }
  const lines = new Locator(text, lineCounter);
  const aliases = resolveAliases(doc.contents);
  const aliasErrors = checkAliases(aliases, lines);
  if (aliasErrors.length > 0) return { ok: false, errors: listed(aliasErrors) };
  const checker = new YamlChecker(aliases.targets, lines, wording);
  return { ok: true, checker, root: checker.at(doc.contents, '', 1) };
}

function checkAliases(report: AliasReport, lines: Locator): ConfigError[] {
  const errors: ConfigError[] = report.undefinedAliases.map((alias) => ({
    path: '',
    line: lines.of(alias) ?? 1,
    message: `alias *${alias.source} has no anchor &${alias.source} before it`,
  }));
  if (report.cyclic) {
    const alias = report.cyclic;
    errors.push({
      path: '',
      line: lines.of(alias) ?? 1,
      message: `alias *${alias.source} is inside the node anchored &${alias.source}: it would repeat forever`,
    });
  }
  const added = report.expandedNodes - report.writtenNodes;
  const allowed = Math.max(ALIAS_FREE_NODES, report.writtenNodes);
  if (added > allowed) {
    const heaviest = report.heaviest;
    const line = heaviest ? lines.ofAnchor(heaviest.anchor, heaviest.node) : undefined;
    const culprit = heaviest
      ? `; most come from the ${heaviest.uses} aliases of &${heaviest.anchor} (line ${line ?? '?'}), adding ${heaviest.addedNodes} nodes`
      : '';
    errors.push({
      path: '',
      line: line ?? 1,
      message:
        `YAML aliases expand this file from ${report.writtenNodes} written nodes to ${report.expandedNodes}${culprit}. ` +
        `Aliases may add at most as many nodes as the file writes out (or ${ALIAS_FREE_NODES}): write the repeated parts out, or generate the file`,
    });
  }
  return errors;
}

/** Lines of YAML nodes, for error messages. */
class Locator {
  constructor(
    private readonly text: string,
    private readonly lineCounter: LineCounter,
  ) {}

  of(node: unknown): number | undefined {
    const start = startOf(node);
    return start === undefined ? undefined : this.lineCounter.linePos(start).line;
  }

  /** A block node starts on the line below its `&name`: point at the anchor, where a reader looks. */
  ofAnchor(anchor: string, node: unknown): number | undefined {
    const start = startOf(node);
    const at = start === undefined ? -1 : this.text.lastIndexOf(`&${anchor}`, start);
    return at >= 0 ? this.lineCounter.linePos(at).line : this.of(node);
  }
}

function startOf(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}

/** The fields of one mapping, after unknown keys were reported. */
export class Fields {
  constructor(
    private readonly checker: YamlChecker,
    private readonly owner: At,
    private readonly values: Map<string, At>,
    /** Keys an unknown key was reported as a likely typo of: their absence is that same error. */
    private readonly misspelled: ReadonlySet<string>,
  ) {}

  /** The field, or undefined when absent or explicitly empty (`key:` or `key: null`). */
  optional(key: string): At | undefined {
    const at = this.values.get(key);
    return at && at.node !== null ? at : undefined;
  }

  /** The field, reporting it when absent or empty. */
  required(key: string): At | undefined {
    const at = this.values.get(key);
    if (!at && this.misspelled.has(key)) return undefined;
    if (!at)
      return this.checker.report(
        { path: childPath(this.owner.path, key), line: this.owner.line },
        this.checker.wording.missingKey(key),
      );
    if (at.node === null) return this.checker.report(at, 'needs a value');
    return at;
  }
}

export class YamlChecker {
  readonly found = new ErrorList();

  constructor(
    private readonly aliasTargets: ReadonlyMap<Alias, unknown>,
    private readonly lines: Locator,
    readonly wording: Wording,
  ) {}

  /** A checker of the same document with errors of its own (one mesh service item's). */
  forItem(): YamlChecker {
    return new YamlChecker(this.aliasTargets, this.lines, this.wording);
  }

  /** Wraps a node (following aliases) with its path and line; empty values (`key:`) become null. */
  at(node: unknown, path: string, fallbackLine: number): At {
    const line = this.lines.of(node) ?? fallbackLine;
    const target = isAlias(node) ? this.aliasTargets.get(node) : node;
    const value =
      target === undefined || target === null || (isScalar(target) && target.value === null) ? null : target;
    return { node: value, path, line };
  }

  report(where: { path: string; line: number }, message: string): undefined {
    return this.found.report(where, message);
  }

  /** A mapping's entries by string key, any keys allowed (labels, per-port numbers). */
  entries(at: At): Map<string, At> | undefined {
    if (!isMap(at.node)) return this.report(at, `must be a mapping, got ${describe(at.node)}`);
    const entries = new Map<string, At>();
    for (const pair of at.node.items) {
      const keyLine = this.lines.of(pair.key) ?? at.line;
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string' && typeof key !== 'number') {
        this.report({ path: at.path, line: keyLine }, `keys must be text, got ${describe(pair.key)}`);
        continue;
      }
      const name = String(key);
      // Errors about a field point at its key's line: a block value starts on the lines below.
      entries.set(name, { ...this.at(pair.value, childPath(at.path, name), keyLine), line: keyLine });
    }
    return entries;
  }

  /** A mapping that may only hold `known` keys: a typo must be an error, never silently ignored. */
  fields(at: At, known: readonly string[]): Fields | undefined {
    if (!isMap(at.node))
      return this.report(at, `must be a mapping with keys ${known.join(', ')}; got ${describe(at.node)}`);
    const entries = this.entries(at);
    if (!entries) return undefined;
    const misspelled = new Set<string>();
    for (const [key, value] of entries) {
      if (known.includes(key)) continue;
      const suggestion = closest(key, known);
      if (suggestion !== undefined) misspelled.add(suggestion);
      this.report(
        value,
        `unknown key "${key}"${suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : ` (allowed: ${known.join(', ')})`}`,
      );
      entries.delete(key);
    }
    return new Fields(this, at, entries, misspelled);
  }

  /** The items of a list, numbered from `indexOffset`; undefined (no error) when `at` is undefined, since the caller reported absence. */
  items(at: At | undefined, indexOffset = 0): At[] | undefined {
    if (!at) return undefined;
    if (!isSeq(at.node)) return this.report(at, `must be a list, got ${describe(at.node)}`);
    return at.node.items.map((item, index) => this.at(item, `${at.path}[${indexOffset + index}]`, at.line));
  }

  /** The node's scalar value, whatever its type, without checking it (undefined for a list or mapping). */
  scalar(at: At | undefined): unknown {
    return at && isScalar(at.node) ? at.node.value : undefined;
  }

  string(at: At | undefined): string | undefined {
    if (!at) return undefined;
    if (isScalar(at.node) && typeof at.node.value === 'string') return at.node.value;
    const quoteHint =
      isScalar(at.node) && at.node.value !== null
        ? `; quote it if you mean the text: "${printable(at.node.value)}"`
        : '';
    return this.report(at, `must be a string, got ${describe(at.node)}${quoteHint}`);
  }

  nonEmptyString(at: At | undefined): string | undefined {
    const value = this.string(at);
    if (at && value?.trim() === '') return this.report(at, 'must not be empty');
    return value;
  }

  dnsLabel(at: At | undefined): string | undefined {
    const value = this.string(at);
    if (at && value !== undefined && !DNS_LABEL.test(value))
      return this.report(at, `"${value}" is not a DNS label (${this.wording.dnsLabelRule})`);
    return value;
  }

  labelKey(at: At): string | undefined {
    const value = this.string(at);
    if (value !== undefined && !isLabelKey(value))
      return this.report(at, `"${value}" is not a label key (like version or app.kubernetes.io/version)`);
    return value;
  }

  /** Label values name subsets, which appear in Envoy cluster names: Kubernetes label syntax keeps them safe. */
  labelValue(at: At | undefined): string | undefined {
    const value = this.string(at);
    if (at && value !== undefined && !LABEL_VALUE.test(value)) {
      return this.report(
        at,
        `"${value}" is not a label value (letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters)`,
      );
    }
    return value;
  }

  integer(at: At | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (!at) return undefined;
    const value = isScalar(at.node) ? at.node.value : undefined;
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    if (typeof value !== 'number' || !Number.isInteger(value))
      return this.report(at, `must be a whole number ${range}, got ${describe(at.node)}`);
    if (value < min || value > max) return this.report(at, `${value} is out of range: must be ${range}`);
    return value;
  }

  optionalInteger(at: At | undefined, min: number, max?: number): number | undefined {
    return at ? this.integer(at, min, max) : undefined;
  }

  optionalBoolean(at: At | undefined): boolean | undefined {
    if (!at) return undefined;
    if (isScalar(at.node) && typeof at.node.value === 'boolean') return at.node.value;
    return this.report(at, `must be true or false, got ${describe(at.node)}`);
  }

  oneOf<T extends string>(at: At, values: readonly T[]): T | undefined {
    const value = this.string(at);
    if (value === undefined) return undefined;
    if ((values as readonly string[]).includes(value)) return value as T;
    return this.report(at, `"${value}" is not one of ${values.join(', ')}${didYouMean(value, values)}`);
  }

  optionalOneOf<T extends string>(at: At | undefined, values: readonly T[]): T | undefined {
    return at ? this.oneOf(at, values) : undefined;
  }
}

/** `parent.key`, or `parent["key"]` for a key that is not an identifier. */
export function childPath(parent: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === 'string') return `"${value}" (a string)`;
    if (value === null) return 'nothing';
    return `${printable(value)} (a ${typeof value})`;
  }
  return 'an unsupported value';
}

/** A scalar's value as text (YAML scalars are strings, numbers, booleans or null). */
function printable(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value) ?? typeof value;
}
