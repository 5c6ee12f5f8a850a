// DOM helpers of the live page. Data reaches the DOM only as text (text nodes, setAttribute, textContent),
// never as HTML: a node id or an error message from a proxy cannot run script in the page.

type AttrValue = string | number | boolean | null | undefined;
type StyleValue = Partial<Pick<CSSStyleDeclaration, 'width' | 'background'>>;

/** Attributes of `h()`: null, undefined and false leave the attribute out; `style` sets properties. */
export interface Attrs {
  readonly style?: StyleValue;
  readonly [name: string]: AttrValue | StyleValue;
}

/** Children of `h()`: strings and numbers become text nodes; null, undefined and false are skipped. */
export type Child = Node | string | number | false | null | undefined | readonly Child[];

function appendChildren(el: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (child instanceof Node) el.append(child);
    else if (typeof child === 'object') appendChildren(el, child);
    else el.append(String(child));
  }
}

/** h('td', {class: 'x', 'data-y': 1}, 'text', child): builds an element. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'object') Object.assign(el.style, value);
    else el.setAttribute(name, String(value));
  }
  appendChildren(el, children);
  return el;
}

/** The page's element with this id, of this class; a missing one is a bug in the page's markup. */
export function byId<T extends HTMLElement = HTMLElement>(id: string, type?: abstract new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof (type ?? HTMLElement))) throw new Error(`the page has no ${type?.name ?? 'element'} #${id}`);
  return el as T;
}

/** `error.message` of whatever was thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
