// A short unified-style line diff of two texts, for golden-file failures: the first changed lines with a
// little context, enough to see what changed without a diff library.

const CONTEXT_LINES = 3;
const MAX_SHOWN_LINES = 60;
/** Above this many line pairs the LCS table is too big: show the changed region as replaced wholesale. */
const MAX_LCS_CELLS = 4_000_000;

interface Op {
  kind: ' ' | '-' | '+';
  line: string;
  oldLine: number;
  newLine: number;
}

/** undefined when equal; otherwise `@@ -a +b @@` hunks of the first differences (- expected, + actual). */
export function firstDifference(expected: string, actual: string): string | undefined {
  if (expected === actual) return undefined;
  const ops = lineOps(expected.split('\n'), actual.split('\n'));
  const shown: string[] = [];
  for (const [start, stop] of hunks(ops)) {
    if (shown.length >= MAX_SHOWN_LINES) {
      shown.push('... (more differences below)');
      break;
    }
    const first = ops[start];
    shown.push(`@@ -${first.oldLine} +${first.newLine} @@`);
    for (const op of ops.slice(start, stop)) shown.push(`${op.kind} ${op.line}`);
  }
  if (shown.length > MAX_SHOWN_LINES) shown.splice(MAX_SHOWN_LINES, shown.length, '... (diff cut short)');
  return shown.join('\n');
}

/** [start, stop) ranges of ops around the changes; changes closer than twice the context share a hunk. */
function hunks(ops: Op[]): [number, number][] {
  const ranges: [number, number][] = [];
  ops.forEach((op, index) => {
    if (op.kind === ' ') return;
    const start = Math.max(0, index - CONTEXT_LINES);
    const stop = Math.min(ops.length, index + 1 + CONTEXT_LINES);
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1]) last[1] = stop;
    else ranges.push([start, stop]);
  });
  return ranges;
}

/** The edit script from `before` to `after`: common prefix and suffix kept, the middle by longest common subsequence. */
function lineOps(before: string[], after: string[]): Op[] {
  let prefix = 0;
  while (prefix < before.length && prefix < after.length && before[prefix] === after[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < before.length - prefix &&
    suffix < after.length - prefix &&
    before[before.length - 1 - suffix] === after[after.length - 1 - suffix]
  )
    suffix++;
  const a = before.slice(prefix, before.length - suffix);
  const b = after.slice(prefix, after.length - suffix);
  const kinds: Op['kind'][] = [
    ...Array<Op['kind']>(prefix).fill(' '),
    ...middleKinds(a, b),
    ...Array<Op['kind']>(suffix).fill(' '),
  ];
  // Walk the kinds against both texts to attach lines and 1-based line numbers.
  const ops: Op[] = [];
  let oldIndex = 0;
  let newIndex = 0;
  for (const kind of kinds) {
    const line = kind === '+' ? after[newIndex] : before[oldIndex];
    ops.push({ kind, line, oldLine: oldIndex + 1, newLine: newIndex + 1 });
    if (kind !== '+') oldIndex++;
    if (kind !== '-') newIndex++;
  }
  return ops;
}

function middleKinds(a: string[], b: string[]): Op['kind'][] {
  if (a.length * b.length > MAX_LCS_CELLS)
    return [...Array<Op['kind']>(a.length).fill('-'), ...Array<Op['kind']>(b.length).fill('+')];
  // lcs[i * (m + 1) + j] = length of the LCS of a[i..] and b[j..].
  const n = a.length;
  const m = b.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[i] === b[j]
          ? lcs[(i + 1) * (m + 1) + j + 1] + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const kinds: Op['kind'][] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      kinds.push(' ');
      i++;
      j++;
    } else if (j >= m || (i < n && lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) {
      kinds.push('-');
      i++;
    } else {
      kinds.push('+');
      j++;
    }
  }
  return kinds;
}
