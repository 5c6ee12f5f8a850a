// The wire types that the live page (src/admin/page/browser) and `spillway status` read must describe what
// the server sends: each server-side report type must be assignable to its wire type in api-types.ts.
// The check is made by tsc when this file compiles; the test only makes a run of jest list it.
import type * as Wire from '../../src/admin/page/api-types';
import type { SourceIssue } from '../../src/discovery/source-issue';
import type { DrillManager } from '../../src/drill/drill-manager';
import type { WhatIfReport } from '../../src/predict/what-if';
import type { FailoverEntry } from '../../src/visibility/failover-tracker';
import type { ScopeReport } from '../../src/visibility/scope-report';

/** Compiles only when `Server` is assignable to `Json`. */
const conforms =
  <Json>() =>
  <Server extends Json>(): true =>
    true;

test('server report types are assignable to the wire types the page and the CLI read', () => {
  expect(conforms<Wire.FailoverEntry>()<FailoverEntry>()).toBe(true);
  expect(conforms<Wire.SourceIssueJson>()<SourceIssue>()).toBe(true);
  expect(conforms<Wire.WhatIfReportJson>()<WhatIfReport>()).toBe(true);
  expect(conforms<Wire.ScopeReportJson>()<ScopeReport>()).toBe(true);
  expect(conforms<Wire.DrillStatusJson>()<ReturnType<DrillManager['status']> & { generatedAtMs: number }>()).toBe(true);
});
