// The wire types that the live page (src/admin/page/browser) and `spillway status` read must describe what
// the server sends: each server-side report type must be assignable to its wire type in api-types.ts.
// The check is made by tsc when this file compiles; the test only makes a run of jest list it.
import type * as Wire from '../../src/admin/page/api-types';
import type { SourceIssue } from '../../src/discovery/source-issue';
import type { DrillManager } from '../../src/drill/drill-manager';
import type { WhatIfReport } from '../../src/predict/what-if';
import type { FailoverEntry } from '../../src/visibility/failover-tracker';
import type { ScopeReport } from '../../src/visibility/scope-report';

/** `true` when every `Server` value is a `Json` value; then only `true` may be assigned to it, else only `false`. */
type Conforms<Server, Json> = [Server] extends [Json] ? true : false;

const failover: Conforms<FailoverEntry, Wire.FailoverEntry> = true;
const sourceIssue: Conforms<SourceIssue, Wire.SourceIssueJson> = true;
const whatIf: Conforms<WhatIfReport, Wire.WhatIfReportJson> = true;
const scope: Conforms<ScopeReport, Wire.ScopeReportJson> = true;
const drill: Conforms<ReturnType<DrillManager['status']> & { generatedAtMs: number }, Wire.DrillStatusJson> = true;

test('server report types are assignable to the wire types the page and the CLI read', () => {
  expect([failover, sourceIssue, whatIf, scope, drill]).toEqual([true, true, true, true, true]);
});
