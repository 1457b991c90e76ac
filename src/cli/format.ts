/**
 * cli/format.ts — what a person reads: the verdict table, witnesses, harness errors, `list`.
 * Pure functions from results to text (no colour, no I/O) so tests can check them.
 */
import type { HistoryInfo } from '../protocols/api.js';
import type { Expectation, ProtocolResult, RunResult, ViolationKind } from '../api/types.js';
import { KIND_SHORT } from '../api/kinds.js';

export { KIND_SHORT };

export function formatExpect(e: Expectation, short = false): string {
  if (e === 'sound') return 'sound';
  const kinds = e.violates.map((k) => (short ? (KIND_SHORT[k] ?? k) : k));
  return `violates ${kinds.join(',')}`;
}

export function totalViolations(p: Pick<ProtocolResult, 'violations'>): number {
  let n = 0;
  for (const v of Object.values(p.violations)) n += v ?? 0;
  return n;
}

function kindsSeen(p: ProtocolResult): ViolationKind[] {
  return (Object.keys(p.violations) as ViolationKind[]).filter((k) => (p.violations[k] ?? 0) > 0);
}

export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatMs(ms: number | null): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function verdictLabel(p: ProtocolResult): string {
  if (p.error) return 'ERROR';
  return p.verdict === 'pass' ? 'pass' : p.verdict === 'inconclusive' ? 'inconclusive' : 'FAIL';
}

/** Does the verdict match the expectation (pass, or a sound protocol's inconclusive clean run)? */
export const asExpected = (p: ProtocolResult): boolean => !p.error && (p.verdict === 'pass' || p.verdict === 'inconclusive');

/** The coverage line: each race window and how often it was hit. */
export function formatCoverage(p: ProtocolResult): string {
  return Object.entries(p.coverage ?? {})
    .map(([w, n]) => `${w} ${int(n)}`)
    .join(', ');
}

/** Why a verdict is not 'pass', in one line (undefined when it passed). */
export function verdictReason(p: ProtocolResult): string | undefined {
  if (p.error) return `harness failure: ${oneLine(p.error.message)}${p.error.protocolMethod ? ` (in ${p.error.protocolMethod})` : ''}`;
  if (p.verdict === 'pass') return undefined;
  if (p.verdict === 'inconclusive') {
    const missed = Object.entries(p.coverage ?? {})
      .filter(([w, n]) => !n && w !== 'nonblock-failed')
      .map(([w]) => w);
    return `inconclusive: no violation, but these race windows were never hit: ${missed.join(', ')} (try a longer --duration)`;
  }
  const seen = kindsSeen(p);
  if (p.expect === 'sound') {
    return seen.length > 0
      ? `expected sound, but saw ${seen.map((k) => `${k} x${p.violations[k]}`).join(', ')}`
      : 'expected sound: the runner reported a failure';
  }
  const wanted = p.expect.violates;
  const missing = wanted.filter((k) => !seen.includes(k));
  if (seen.length === 0) return `expected ${wanted.join(' or ')}, none seen in ${int(p.ops)} ops (try a longer --duration)`;
  const extra = seen.filter((k) => !wanted.includes(k));
  if (extra.length > 0) return `expected ${wanted.join(' or ')}, but also saw ${extra.join(', ')}`;
  return `expected ${wanted.join(' or ')}, saw ${seen.join(', ')}${missing.length ? ` (not ${missing.join(', ')})` : ''}`;
}

function oneLine(s: string): string {
  return s.split('\n')[0];
}

/** A plain table: first column left-aligned, the rest as `align` says. */
export function renderTable(head: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/** The per-protocol verdict table, a legend for the short kind names used, and one note per non-pass. */
export function formatVerdictTable(result: RunResult): string {
  const used = new Set<string>();
  const rows = result.protocols.map((p) => {
    const seen = kindsSeen(p);
    seen.forEach((k) => used.add(k));
    if (p.expect !== 'sound') p.expect.violates.forEach((k) => used.add(k));
    const viol = seen.length === 0 ? '0' : seen.map((k) => `${KIND_SHORT[k] ?? k}:${int(p.violations[k] ?? 0)}`).join(' ');
    return [
      p.name,
      formatExpect(p.expect, true),
      int(p.ops),
      int(p.opsPerSec),
      int(p.retries),
      viol,
      formatMs(p.firstViolationMs),
      verdictLabel(p),
    ];
  });
  const out = [
    renderTable(['protocol', 'expect', 'ops', 'ops/s', 'retries', 'violations', 'first', 'verdict'], rows, [
      'l',
      'l',
      'r',
      'r',
      'r',
      'l',
      'r',
      'l',
    ]),
  ];
  const legend = [...used].filter((k) => KIND_SHORT[k] && KIND_SHORT[k] !== k).map((k) => `${KIND_SHORT[k]} = ${k}`);
  if (legend.length > 0) out.push(legend.join('; '));
  const covered = result.protocols.filter((p) => p.coverage);
  if (covered.length > 0) out.push('race windows hit:', ...covered.map((p) => `  ${p.name}: ${formatCoverage(p)}`));
  const notes = result.protocols.map((p) => [p.name, verdictReason(p)] as const).filter(([, r]) => r !== undefined);
  if (notes.length > 0) out.push('', ...notes.map(([n, r]) => `${n}: ${r}`));
  return out.join('\n');
}

/** The first witness of each protocol that violated (the runner renders Witness.text). */
export function formatWitnesses(result: RunResult): string {
  const blocks: string[] = [];
  for (const p of result.protocols) {
    const w = p.witnesses[0];
    if (!w) continue;
    const n = p.violations[w.kind] ?? 1;
    const expected = p.expect !== 'sound' && p.expect.violates.includes(w.kind);
    blocks.push(
      `--- ${p.name}: ${w.kind} (${expected ? 'expected' : 'NOT expected'}; first of ${int(n)}, at ${w.schedule ? `step ${int(w.atMs)}` : formatMs(w.atMs)}) ---\n${w.text.trimEnd()}`,
    );
  }
  return blocks.join('\n\n');
}

/** Harness failures, with stacks (stderr). */
export function formatErrors(result: RunResult): string {
  return result.protocols
    .filter((p) => p.error)
    .map((p) => {
      const e = p.error!;
      const where = e.protocolMethod ? ` in ${e.protocolMethod}` : '';
      return `--- ${p.name}: harness failure${where} ---\n${e.stack?.includes(e.message) ? e.stack : `${e.message}${e.stack ? `\n${e.stack}` : ''}`}`;
    })
    .join('\n\n');
}

/** Exit code from a finished run: 3 on any harness failure, 1 on any verdict that differs, else 0. */
export function exitCodeFor(result: RunResult): 0 | 1 | 3 {
  if (result.protocols.some((p) => p.error)) return 3;
  if (result.protocols.some((p) => !asExpected(p))) return 1;
  return 0;
}

/** The closing lines: counts, the seed, how to rerun. */
export function formatSummary(result: RunResult, rerun: string): string {
  const ps = result.protocols;
  const errors = ps.filter((p) => p.error).length;
  const differ = ps.filter((p) => !p.error && !asExpected(p)).length;
  const inconclusive = ps.filter((p) => !p.error && p.verdict === 'inconclusive').length;
  const ok = ps.length - errors - differ;
  const parts = [
    `${ps.length} protocol${ps.length === 1 ? '' : 's'}: ${ok} as expected${inconclusive ? ` (${inconclusive} inconclusive)` : ''}`,
  ];
  if (differ) parts.push(`${differ} differ${differ === 1 ? 's' : ''} from expectation`);
  if (errors) parts.push(`${errors} harness failure${errors === 1 ? '' : 's'}`);
  return [
    parts.join(', '),
    result.config.mode === 'controlled'
      ? `seed ${result.seed} (rerun: ${rerun} --seed ${result.seed}; in controlled mode the same seed repeats every schedule exactly)`
      : `seed ${result.seed} (rerun: ${rerun} --seed ${result.seed}; the same seed repeats the workload choices, not the thread interleaving)`,
  ].join('\n');
}

/** `hmmsim list`. */
export function formatList(protocols: { name: string; expect: Expectation; description: string }[]): string {
  return renderTable(
    ['protocol', 'expect', 'what it does'],
    protocols.map((p) => [p.name, formatExpect(p.expect), oneLine(p.description)]),
    ['l', 'l', 'l'],
  );
}

/** `hmmsim list --history`: the protocols taken from the kernel's history, bug beside fix, with their commit. */
export function formatHistoryList(protocols: { name: string; expect: Expectation; history?: HistoryInfo }[]): string {
  const rows = protocols
    .filter((p) => p.history)
    .map((p) => [p.name, p.history!.side, p.history!.commit, p.history!.kernel, formatExpect(p.expect), p.history!.subject]);
  return renderTable(['protocol', 'side', 'commit', 'kernel', 'expect', 'subject'], rows, ['l', 'l', 'l', 'l', 'l', 'l']);
}
