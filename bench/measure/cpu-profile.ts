// Reads a V8 .cpuprofile (written by node --cpu-prof) and sums self time per function, so the profile run
// can print what dominates without opening DevTools.
import * as fs from 'fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Lines "share%  ms  function (file:line)", the `top` functions by self time, largest first. */
export function topSelfTime(file: string, top: number): string[] {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let totalUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]);
    // A sample's time is the delta to the NEXT sample.
    const us = Math.max(0, deltas[i + 1] ?? 0);
    if (!node) continue;
    const frame = node.callFrame;
    const file = frame.url ? frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/') : '';
    const key = `${frame.functionName || '(anonymous)'}${file ? ` (${file}:${frame.lineNumber + 1})` : ''}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + us);
    totalUs += us;
  }
  return [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([name, us]) =>
        `${((100 * us) / Math.max(1, totalUs)).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    );
}
