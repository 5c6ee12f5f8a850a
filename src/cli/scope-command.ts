// `spillway scope`: per workload, the services it declares it calls and those its sidecars were seen
// calling (load reports), with a `calls:` list and an annotation to paste. Formatting is pure.
import type { ScopeReport, WorkloadScope } from '../visibility/scope-report';
import { cell as clean, formatAge } from '../format/text-table';
import { runCommand } from './status';

function workloadText(entry: WorkloadScope, nowMs: number): string[] {
  const lines = [clean(entry.workload)];
  lines.push(
    `  declared:    ${entry.declared ? (entry.declared.length > 0 ? entry.declared.map(clean).join(', ') : '(nothing)') : '(no calls declared: its sidecars get every service they can see, or on demand)'}`,
  );
  const observed = entry.observed.map(
    (o) => `${clean(o.service)} (${o.requests} requests, last ${formatAge(nowMs - o.lastSeenMs)} ago)`,
  );
  lines.push(`  observed:    ${observed.length > 0 ? observed.join(', ') : '(no load reports naming a callee yet)'}`);
  if (entry.observedNotDeclared.length > 0)
    lines.push(
      `  not declared but called: ${entry.observedNotDeclared.map(clean).join(', ')} (its sidecars answer 404 for these: add them)`,
    );
  if (entry.declaredNotObserved.length > 0)
    lines.push(
      `  declared, not seen called: ${entry.declaredNotObserved.map(clean).join(', ')} (rare, or no longer used: you decide)`,
    );
  lines.push(`  mesh file:   ${clean(entry.suggestion.meshFile)}`);
  lines.push(`  annotation:  ${clean(entry.suggestion.annotation)}`);
  return lines;
}

export function formatScope(report: ScopeReport, nowMs: number): string {
  const head = [
    `Sidecars whose workload declares no calls get: ${clean(report.defaultScope)} (serve --scope)`,
    `Observed from load reports for ${formatAge(nowMs - report.observingSinceMs)}; Spillway never trims a proxy's configuration on its own.`,
  ];
  if (report.droppedPairs > 0)
    head.push(
      `${report.droppedPairs} observed calls not kept: more than ${report.observedPairs} (raise --scope-max-observed-calls)`,
    );
  if (report.workloads.length === 0)
    return [
      ...head,
      '',
      "No workload declares calls or was seen calling yet (sidecars name their workload with node metadata SERVICE, or Istio's NAMESPACE and LABELS.app).",
    ].join('\n');
  const body = report.workloads.flatMap((entry) => ['', ...workloadText(entry, nowMs)]);
  const shown =
    report.total > report.workloads.length
      ? [
          '',
          `showing ${report.workloads.length} of ${report.total} workloads (--json with the admin URL's ?limit=N for more)`,
        ]
      : [];
  return [...head, ...body, ...shown].join('\n');
}

export function runScope(argv: string[]): Promise<number> {
  return runCommand<ScopeReport>(argv, {
    name: 'scope',
    path: 'debug/scope',
    summary:
      'Per workload: the services it declares it calls (mesh file calls:, annotation spillway.io/calls) and those its sidecars were seen calling in load reports, with a calls: list and an annotation to paste.',
    format: (report) => formatScope(report, Date.now()),
  });
}
