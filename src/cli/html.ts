/**
 * html.ts — `--html FILE`: one self-contained page (inline CSS and SVG, no script, no network: its
 * Content-Security-Policy forbids every fetch) with the verdict table, the coverage of each race
 * window, and each distinct violation with its witness drawn as a timeline, a lane per thread (the
 * browser demo's drawing), and the command that reruns it. Reads a stress, shard or merged JSON report.
 */
import { KIND_SHORT } from '../api/kinds.js';
import type { Expectation, WitnessEvent } from '../api/types.js';
import { boundsOf, type Bounds } from './bounds.js';

interface HtmlWitness {
  kind: string;
  thread: number;
  role: string;
  atMs: number;
  summary: string;
  events: WitnessEvent[];
  text: string;
  signature?: string;
  seen?: number;
  seed?: number;
  shard?: number;
}

interface HtmlProtocol {
  name: string;
  description?: string;
  expect: Expectation;
  verdict: string;
  ops: number;
  opsPerSec: number;
  violations: Record<string, number | undefined>;
  witnesses: HtmlWitness[];
  error?: { message: string } | null;
  coverage?: Record<string, unknown>;
  bounds?: Bounds | null;
}

export interface HtmlReport {
  version: string;
  seed: number;
  config: Record<string, unknown>;
  protocols: HtmlProtocol[];
  campaign?: {
    id: string;
    shard?: { index: number; count: number };
    shardCount?: number;
    shards?: number[];
    missingShards?: number[];
    seed: number;
    seedCount: number;
    rerun?: string;
    unitCount?: number;
  };
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const expectText = (e: Expectation) => (e === 'sound' ? 'sound' : `violates ${e.violates.map((k) => KIND_SHORT[k] ?? k).join(', ')}`);

/** The event's colour class, as the demo colours its timeline. */
export function eventClass(text: string): string {
  if (/USE-AFTER-FREE|DEVICE-PTE-DURING|WRITE-TO-READONLY|PAGE-TABLE-USE-AFTER-FREE|DEADLOCK|STALL/.test(text)) return 'ev-viol';
  if (/^inv_start|^inv_end|callbacks done/.test(text.trim())) return 'ev-inv';
  if (/^(free |migrate |reclaim |cow break|zap ptes|free page tables)/.test(text)) return 'ev-free';
  if (/^(hmm_range_fault|device fault)/.test(text)) return 'ev-walk';
  if (/^(program |dma )/.test(text)) return 'ev-prog';
  return 'ev-other';
}

const CSS = `
:root{--bg:#0f1216;--card:#171c22;--line:#2a313a;--fg:#dde3ea;--dim:#8a96a3;--accent:#4ea1ff;--inval:#e0a526;--free:#7a5cc4;--walk:#2fae62;
--stale:#ff3b3b;color-scheme:dark}
*{box-sizing:border-box}body{margin:0;padding:16px 22px 40px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,sans-serif}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}h3{font-size:15px;margin:0 0 6px}.dim{color:var(--dim)}
code,pre,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
table.grid{border-collapse:collapse}table.grid th,table.grid td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:left}
table.grid td.r,table.grid th.r{text-align:right}.pass{color:#7be39f}.fail{color:#ff8a8a;font-weight:600}.inconclusive{color:#ffd98a}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px 14px;margin:0 0 14px}
.cmd{background:#0b0e11;border:1px solid var(--line);padding:6px 8px;border-radius:4px;white-space:pre-wrap;word-break:break-all}
.timeline{overflow-x:auto;margin-top:8px}.timeline table{border-collapse:collapse;min-width:100%;table-layout:fixed}
.timeline th{font-size:12.5px;text-align:left;padding:4px 8px;border-bottom:1px solid var(--line)}
.timeline th.n,.timeline td.n{width:34px;color:var(--dim);text-align:right;font-weight:400}
.timeline td{padding:1px 8px;vertical-align:top;border-left:2px solid #28313b;font-family:ui-monospace,Menlo,monospace;font-size:12px}
.timeline td.n{border-left:none}.timeline td.ev{border-left:2px solid var(--accent);background:#1b232c;word-break:break-word}
.timeline td.ev-inv{border-left-color:var(--inval);color:#ffd98a}.timeline td.ev-free{border-left-color:var(--free);color:#cdb8ff}
.timeline td.ev-walk{border-left-color:var(--walk);color:#9be8b6}.timeline td.ev-prog{border-left-color:var(--accent);color:#b9dbff}
.timeline td.ev-viol{border-left-color:var(--stale);color:#fff;background:#4a1518;font-weight:600}
.timeline td.gap{color:var(--dim);text-align:center;font-style:italic;border-left:none}
svg.lanes{display:block;margin-top:8px;background:#12171c;border:1px solid var(--line);border-radius:4px}
svg .ev-inv{fill:var(--inval)}svg .ev-free{fill:var(--free)}svg .ev-walk{fill:var(--walk)}svg .ev-prog{fill:var(--accent)}
svg .ev-viol{fill:var(--stale)}svg .ev-other{fill:#5c6a78}svg text{fill:var(--dim);font:11px ui-monospace,monospace}svg line{stroke:#28313b}
details{margin-top:8px}summary{cursor:pointer;color:var(--dim)}
`;

/** The whole page. */
export function toHtml(report: HtmlReport): string {
  const c = report.campaign;
  const shardLine = !c
    ? ''
    : c.shards
      ? `campaign <code>${esc(c.id)}</code>: ${c.shards.length} of ${c.shardCount} shards merged` +
        (c.missingShards?.length
          ? ` <span class="fail">(missing ${c.missingShards.map((i) => `${i}/${c.shardCount}`).join(', ')})</span>`
          : '')
      : `campaign <code>${esc(c.id)}</code>: shard ${c.shard?.index}/${c.shard?.count}`;
  const seeds = c && c.seedCount > 1 ? `seeds ${c.seed}..${(c.seed + c.seedCount - 1) >>> 0}` : `seed ${report.seed}`;
  const distinct = report.protocols.reduce((s, p) => s + p.witnesses.length, 0);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hmmsim report${c ? ` ${esc(c.id)}` : ''}</title>
<style>${CSS}</style></head>
<body data-protocols="${report.protocols.length}" data-witnesses="${distinct}">
<header><h1>hmmsim report</h1>
<div class="dim">hmmsim ${esc(report.version)}; ${seeds}${shardLine ? `; ${shardLine}` : ''}</div></header>
<h2>Verdicts</h2>
${verdictTable(report.protocols)}
<h2>Coverage</h2>
${coverageSection(report.protocols)}
<h2>Violations <span class="dim">(${distinct} distinct, by witness shape)</span></h2>
${report.protocols.flatMap((p) => p.witnesses.map((w, i) => witnessCard(p, w, i, report))).join('\n') || '<p class="dim">none</p>'}
<details><summary>configuration</summary><pre>${esc(JSON.stringify(report.config, null, 2))}</pre></details>
</body></html>
`;
}

function verdictTable(protocols: HtmlProtocol[]): string {
  const rows = protocols.map((p) => {
    const seen = Object.entries(p.violations).filter(([, n]) => (n ?? 0) > 0);
    const viol = seen.length ? seen.map(([k, n]) => `${esc(KIND_SHORT[k] ?? k)}:${int(n ?? 0)}`).join(' ') : '0';
    const bounds = p.bounds === undefined ? boundsOf({ ...p, violations: p.violations, error: p.error ?? undefined }) : p.bounds;
    const label = p.error ? 'ERROR' : p.verdict;
    return (
      `<tr data-protocol="${esc(p.name)}"><td>${esc(p.name)}</td><td>${esc(expectText(p.expect))}</td><td class="r">${int(p.ops)}</td>` +
      `<td class="r">${int(p.opsPerSec)}</td><td>${viol}</td><td class="r">${p.witnesses.length}</td>` +
      `<td>${bounds?.perOp != null ? `&lt; ${bounds.perOp.toExponential(2)} / op` : '-'}</td>` +
      `<td class="${label === 'pass' ? 'pass' : label === 'inconclusive' ? 'inconclusive' : 'fail'}">${esc(label)}</td></tr>`
    );
  });
  return (
    '<table class="grid verdicts"><thead><tr><th>protocol</th><th>expect</th><th class="r">ops</th>' +
    '<th class="r">ops/s</th><th>violations</th>' +
    `<th class="r">distinct</th><th>95% bound (rule of three)</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function coverageSection(protocols: HtmlProtocol[]): string {
  const withCoverage = protocols.filter((p) => p.coverage && Object.keys(p.coverage).length > 0);
  if (withCoverage.length === 0) return '<p class="dim">this report carries no race-window coverage counters</p>';
  return withCoverage
    .map((p) => {
      const bounds = p.bounds === undefined ? boundsOf({ ...p, error: p.error ?? undefined }) : p.bounds;
      const rows = Object.entries(p.coverage!).map(([window, hits]) => {
        const b = bounds?.windows?.[window];
        const bound = b ? (b.perHit === null ? 'never hit' : `&lt; ${b.perHit.toExponential(2)} / hit`) : '-';
        const shown = typeof hits === 'number' ? int(hits) : esc(JSON.stringify(hits));
        return `<tr><td>${esc(window)}</td><td class="r">${shown}</td><td>${bound}</td></tr>`;
      });
      return (
        `<h3>${esc(p.name)}</h3><table class="grid coverage">` +
        '<thead><tr><th>race window</th><th class="r">hits</th><th>95% bound</th></tr></thead>' +
        `<tbody>${rows.join('')}</tbody></table>`
      );
    })
    .join('\n');
}

function witnessCard(p: HtmlProtocol, w: HtmlWitness, i: number, report: HtmlReport): string {
  const rerunLine = /^rerun: (.*)$/m.exec(w.text)?.[1];
  const rerun = rerunLine ?? `hmmsim stress --protocol ${p.name} --seed ${w.seed ?? report.seed}`;
  const replay = Object.entries(w as object)
    .filter(([k, v]) => /replay/i.test(k) && typeof v === 'string')
    .map(([, v]) => v as string);
  const extras = Object.entries(w as object).filter(
    ([k]) => !['kind', 'thread', 'role', 'atMs', 'page', 'summary', 'events', 'text', 'signature', 'seen', 'seed', 'shard'].includes(k),
  );
  const where = [
    w.seed !== undefined ? `seed ${w.seed}` : '',
    w.shard !== undefined ? `shard ${w.shard}` : '',
    `at ${w.atMs.toFixed(1)} ms`,
  ]
    .filter(Boolean)
    .join(', ');
  return `<section class="card witness" id="w-${esc(p.name)}-${i}" data-kind="${esc(w.kind)}" data-signature="${esc(w.signature ?? '')}">
<h3>${esc(p.name)}: ${esc(w.kind)} <span class="dim">${w.seen !== undefined ? `seen ${int(w.seen)}x; ` : ''}${esc(where)}</span></h3>
<div>${esc(w.summary)}</div>${w.signature ? `<div class="dim mono">signature ${esc(w.signature)}</div>` : ''}
${lanesSvg(w.events)}
${timelineTable(w.events)}
<div class="dim" style="margin-top:8px">rerun (the same workload choices; the thread interleaving is the OS's):</div>
<div class="cmd mono rerun">${esc(rerun)}</div>
${replay.map((r) => `<div class="dim">replay:</div><div class="cmd mono replay">${esc(r)}</div>`).join('')}
${extras.map(([k, v]) => `<details><summary>${esc(k)}</summary><pre>${esc(JSON.stringify(v, null, 2))}</pre></details>`).join('')}
<details><summary>witness as text</summary><pre>${esc(w.text)}</pre></details>
</section>`;
}

const threadsOf = (events: WitnessEvent[]) => [...new Set(events.map((e) => e.thread).filter((t) => t >= 0))].sort((a, b) => a - b);

/** An overview: one horizontal lane per thread, one mark per event in order, the violation in red. */
function lanesSvg(events: WitnessEvent[]): string {
  const threads = threadsOf(events);
  if (threads.length === 0) return '';
  const step = Math.max(4, Math.min(14, Math.floor(900 / Math.max(1, events.length))));
  const left = 110;
  const laneH = 20;
  const width = left + events.length * step + 10;
  const height = threads.length * laneH + 6;
  const lanes = threads.map((t, i) => {
    const role = events.find((e) => e.thread === t)?.role ?? '';
    const y = 3 + i * laneH + laneH / 2;
    return `<text x="4" y="${y + 4}">T${t} ${esc(role)}</text><line x1="${left}" x2="${width - 4}" y1="${y}" y2="${y}"/>`;
  });
  const marks = events.map((e, i) => {
    const lane = threads.indexOf(e.thread);
    if (lane < 0) return '';
    const y = 3 + lane * laneH + 4;
    const box = `x="${left + i * step}" y="${y}" width="${Math.max(2, step - 2)}" height="${laneH - 8}"`;
    return `<rect class="${eventClass(e.text)}" ${box} rx="1"><title>${i + 1}. T${e.thread} ${esc(e.text)}</title></rect>`;
  });
  const size = `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"`;
  const label = 'aria-label="witness timeline, one lane per thread"';
  return `<svg class="lanes" role="img" ${label} ${size}>${lanes.join('')}${marks.join('')}</svg>`;
}

/** The demo's timeline: a row per event, a column (lane) per thread. */
function timelineTable(events: WitnessEvent[]): string {
  const threads = threadsOf(events);
  if (events.length === 0) return '<p class="dim">no events recorded for this one</p>';
  const lane = (t: number) => `<th>T${t} ${esc(events.find((e) => e.thread === t)?.role ?? '')}</th>`;
  const head = `<tr><th class="n">#</th>${threads.map(lane).join('')}</tr>`;
  const rows = events.map((e, i) => {
    if (e.thread < 0) return `<tr><td class="n">${i + 1}</td><td class="gap" colspan="${threads.length}">${esc(e.text)}</td></tr>`;
    const cells = threads.map((t) =>
      t === e.thread ? `<td class="ev ${eventClass(e.text)}" title="ticket ${e.ticket}">${esc(e.text)}</td>` : '<td></td>',
    );
    return `<tr><td class="n">${i + 1}</td>${cells.join('')}</tr>`;
  });
  return `<div class="timeline"><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}
