// Resolves every YAML alias (`*name`) of a document in one pass and measures what the aliases add.
// Two reasons not to leave aliases to the yaml package: its Alias.resolve() walks the whole document on
// every call (a file with thousands of aliases took minutes), and its alias limit applies only when
// converting to plain JS, which the validator never does (it reads the node tree, for the line numbers).
import { Alias, isAlias, isMap, isSeq } from 'yaml';

export interface AnchorUse {
  anchor: string;
  /** The anchored node, for its line. */
  node: unknown;
  uses: number;
  /** Nodes added by all aliases of this anchor together. */
  addedNodes: number;
}

export interface AliasReport {
  /** What each alias stands for: the last node anchored with its name before it, as YAML defines. */
  targets: Map<Alias, unknown>;
  /** Nodes as written (an alias counts as one). */
  writtenNodes: number;
  /** Nodes once every alias is replaced by what it stands for. */
  expandedNodes: number;
  /** The anchor whose aliases add the most: what an error should point at. */
  heaviest?: AnchorUse;
  /** Aliases with no anchor before them. */
  undefinedAliases: Alias[];
  /** An alias inside the node its anchor names: expanding it would never end. */
  cyclic?: Alias;
}

export function resolveAliases(root: unknown): AliasReport {
  const walk = new AliasWalk();
  const expandedNodes = walk.size(root);
  let heaviest: AnchorUse | undefined;
  for (const use of walk.uses.values()) if (!heaviest || use.addedNodes > heaviest.addedNodes) heaviest = use;
  return {
    targets: walk.targets,
    writtenNodes: walk.writtenNodes,
    expandedNodes,
    ...(heaviest ? { heaviest } : {}),
    undefinedAliases: walk.undefinedAliases,
    ...(walk.cyclic ? { cyclic: walk.cyclic } : {}),
  };
}

class AliasWalk {
  readonly targets = new Map<Alias, unknown>();
  readonly uses = new Map<unknown, AnchorUse>();
  readonly undefinedAliases: Alias[] = [];
  writtenNodes = 0;
  cyclic?: Alias;
  private readonly anchors = new Map<string, unknown>();
  /** Expanded size of each anchored node, known once the walk has left it. */
  private readonly sizes = new Map<unknown, number>();
  /** Anchored nodes the walk is inside of. */
  private readonly open = new Set<unknown>();

  /** The node's expanded size, in document order (keys before values) so anchors precede their aliases. */
  size(node: unknown): number {
    if (node === null || node === undefined) return 0;
    this.writtenNodes++;
    if (isAlias(node)) return this.aliasSize(node);
    const anchor = (node as { anchor?: unknown }).anchor;
    const anchored = typeof anchor === 'string' && anchor !== '';
    if (anchored) {
      this.anchors.set(anchor, node);
      this.open.add(node);
    }
    let size = 1;
    if (isMap(node)) for (const pair of node.items) size += this.size(pair.key) + this.size(pair.value);
    else if (isSeq(node)) for (const item of node.items) size += this.size(item);
    if (anchored) {
      this.open.delete(node);
      this.sizes.set(node, size);
    }
    return size;
  }

  private aliasSize(alias: Alias): number {
    const target = this.anchors.get(alias.source);
    if (target === undefined) {
      this.undefinedAliases.push(alias);
      return 1;
    }
    this.targets.set(alias, target);
    if (this.open.has(target)) {
      this.cyclic ??= alias;
      return 1;
    }
    const size = this.sizes.get(target) ?? 1;
    let use = this.uses.get(target);
    if (!use) this.uses.set(target, (use = { anchor: alias.source, node: target, uses: 0, addedNodes: 0 }));
    use.uses++;
    use.addedNodes += size - 1;
    return size;
  }
}
