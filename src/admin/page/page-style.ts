// The live page's stylesheet, inlined so the page needs no other request (and works air-gapped).
export const PAGE_STYLE = `
:root{--bg:#f4f5f7;--card:#fff;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--head:#111827;
--local:#16a34a;--partial:#d97706;--spilled:#dc2626;--unavailable:#9ca3af;font-size:14px}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{background:var(--head);color:#f9fafb;padding:14px 24px;display:flex;align-items:center;gap:32px;flex-wrap:wrap}
.brand{font-size:18px;font-weight:650;letter-spacing:.2px}
.brand small{display:block;font-size:11px;font-weight:400;color:#9ca3af}
.stats{display:flex;gap:28px}
.stat b{display:block;font-size:20px;font-weight:650;line-height:1.1}
.stat span{font-size:11px;color:#9ca3af;text-transform:uppercase;letter-spacing:.6px}
.conn{margin-left:auto;font-size:12px;color:#d1d5db;display:flex;align-items:center;gap:8px}
.conn i{width:9px;height:9px;border-radius:50%;background:#6b7280;display:inline-block}
.conn[data-ok="true"] i{background:#22c55e;box-shadow:0 0 0 3px rgba(34,197,94,.25)}
.conn[data-ok="false"] i{background:#ef4444;box-shadow:0 0 0 3px rgba(239,68,68,.25)}
main{padding:20px 24px;display:grid;gap:20px;max-width:1400px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px 10px;overflow-x:auto}
h2{font-size:15px;margin:0 0 2px}
.hint{margin:0 0 10px;color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:11px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.5px;padding:6px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:last-child td{border-bottom:0}
tbody tr:hover td{background:#f9fafb}
.strong{font-weight:600}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.muted{color:var(--muted)}
.small{font-size:11px}
.nowrap{white-space:nowrap}
.port{color:var(--muted)}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:11px;font-weight:600;color:#fff;white-space:nowrap;background:var(--unavailable)}
.state-local,.sync-in-sync{background:var(--local)}
.state-partial,.sync-pending{background:var(--partial)}
.state-spilled,.sync-nack{background:var(--spilled)}
.state-unavailable{background:var(--unavailable)}
.since{font-size:11px;color:var(--muted);margin-top:2px}
.tag{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;font-size:10px;font-weight:600;text-transform:uppercase;background:#eef2ff;color:#4338ca}
.tag.canary{background:#fff7ed;color:#c2410c}
.bar{display:flex;width:180px;height:10px;border-radius:5px;overflow:hidden;background:#e5e7eb}
.seg{display:block;height:100%}
.shares{display:flex;flex-wrap:wrap;gap:2px 10px;margin-top:3px;font-size:11px}
.dot{display:inline-block;width:8px;height:8px;border-radius:2px;margin-right:4px;vertical-align:middle}
.legend{display:flex;gap:14px;font-size:12px;margin:0 0 8px;color:var(--muted)}
.counts{display:flex;gap:16px}
.count b{font-size:15px}
details.nack summary{cursor:pointer;list-style:none}
details.nack summary::-webkit-details-marker{display:none}
details.nack summary::after{content:" \\25BE"}
.nack-text{margin:6px 0 0;max-width:340px;white-space:pre-wrap;word-break:break-word;font-size:11px;background:#fef2f2;color:#991b1b;border:1px solid #fecaca;border-radius:6px;padding:6px 8px}
.empty{color:var(--muted);margin:6px 0 8px}
.error{color:#b91c1c;margin:6px 0 8px}
#source-issues{display:grid;gap:10px}
.issue{border:1px solid #fecaca;background:#fef2f2;color:#991b1b;border-radius:10px;padding:10px 14px}
.issue.warning{border-color:#fde68a;background:#fffbeb;color:#92400e}
.issue pre{margin:6px 0;white-space:pre-wrap;word-break:break-word;font-size:12px}
[hidden]{display:none!important}
`;
