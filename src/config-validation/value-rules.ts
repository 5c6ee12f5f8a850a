// Rules for values of configuration files, shared so that the mesh file, the clusters file and the
// Kubernetes annotations agree on what a name, a label or a port is.

/** A Kubernetes DNS label (RFC 1123): cluster, service, namespace and port names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Kubernetes label value: subset names, which appear in Envoy cluster names. */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
/** A Kubernetes label key, with an optional DNS-subdomain prefix: `version`, `app.kubernetes.io/version`. */
export const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export const MIN_PORT = 1;
export const MAX_PORT = 65_535;

export function isLabelKey(key: string): boolean {
  return LABEL_KEY.test(key);
}

/** ` (did you mean "x"?)` when a close candidate exists, else empty. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const suggestion = closest(word, candidates);
  return suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : '';
}

/** The candidate a typo most likely meant: same letters in another case, or a few edits away. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance =
      candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const close = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= close ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
