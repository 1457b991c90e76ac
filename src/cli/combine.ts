/**
 * combine.ts — one protocol's results from several units (seeds, shards) as one: counts summed,
 * coverage maps summed key by key, witnesses deduplicated by signature (the first of each kept,
 * with every field it carries, e.g. a schedule), the verdict judged again on the sums, and the
 * rule-of-three bound on the violation rate of a clean protocol. Used by a multi-seed run and by
 * `hmmsim merge` (docs/campaigns.md).
 */
import { createHash } from 'node:crypto';
import type { Expectation, ProtocolResult, Witness } from '../api/types.js';
import { verdictOf } from '../oracle/verdict.js';
import { isRecord } from './bounds.js';
export { boundsOf, ruleOfThree, type Bounds } from './bounds.js';

/** A protocol's result as a report carries it: the runner's fields and whatever newer ones it adds. */
export type ProtocolLike = Omit<ProtocolResult, 'error'> & {
  error?: ProtocolResult['error'] | null;
  coverage?: Record<string, unknown>;
};

/** A witness in a combined report: the first of its signature, where it came from, how many had it. */
export type CombinedWitness = Witness & { signature: string; seed?: number; shard?: number; seen: number };

export interface Part {
  result: ProtocolLike;
  seed: number;
  shard?: number;
}

/**
 * A witness's shape, stable across runs: the detecting role, then each event's role and text with
 * every number (addresses, pfns, generations, thread and device numbers) replaced by '#', runs of
 * the same line collapsed to one.
 */
export function witnessShape(w: Pick<Witness, 'role' | 'events'>): string[] {
  const lines = [`detected by ${w.role}`];
  for (const e of w.events) {
    const line = `${e.role} ${e.text
      .replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, '#')
      .replace(/\s+/g, ' ')
      .trim()}`;
    if (lines[lines.length - 1] !== line) lines.push(line);
  }
  return lines;
}

/** "hmm-v5.2/use-after-free/3fa9c2d1e0b4": protocol, kind and a hash of the witness's shape. */
export function witnessSignature(protocol: string, w: Pick<Witness, 'kind' | 'role' | 'events'>): string {
  const hash = createHash('sha256').update(witnessShape(w).join('\n')).digest('hex').slice(0, 12);
  return `${protocol}/${w.kind}/${hash}`;
}

/** Sum two coverage-like values: numbers add, objects add key by key, anything else keeps the first. */
export function sumCoverage(a: unknown, b: unknown): unknown {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (isRecord(a) && isRecord(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = sumCoverage(out[k], v);
    return out;
  }
  return a;
}

function sumMap<K extends string>(maps: Partial<Record<K, number>>[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m) as [K, number | undefined][]) out[k] = (out[k] ?? 0) + (v ?? 0);
  return out;
}

/** Deduplicate witnesses across parts: the first of each signature (in part order), counted. */
export function dedupeWitnesses(protocol: string, parts: Part[]): CombinedWitness[] {
  const bySig = new Map<string, CombinedWitness>();
  for (const part of parts) {
    for (const w of part.result.witnesses ?? []) {
      const signature = (w as Partial<CombinedWitness>).signature ?? witnessSignature(protocol, w);
      const seen = (w as Partial<CombinedWitness>).seen ?? 1;
      const first = bySig.get(signature);
      if (first) first.seen += seen;
      else
        bySig.set(signature, {
          ...w,
          signature,
          seen,
          seed: (w as Partial<CombinedWitness>).seed ?? part.seed,
          ...(part.shard !== undefined || (w as Partial<CombinedWitness>).shard !== undefined
            ? { shard: (w as Partial<CombinedWitness>).shard ?? part.shard }
            : {}),
        });
    }
  }
  return [...bySig.values()];
}

/**
 * The verdict on combined counts, judged again on the sums. The summed coverage is passed on: a
 * verdictOf that judges coverage (a sound protocol whose race windows were never hit is
 * 'inconclusive') judges the sums, so a window one shard missed and another hit counts as hit.
 */
function combinedVerdict(
  expect: Expectation,
  violations: ProtocolResult['violations'],
  error: unknown,
  coverage: unknown,
): ProtocolLike['verdict'] {
  const judge = verdictOf as (expect: Expectation, violations: ProtocolResult['violations'], error: unknown, coverage?: unknown) => string;
  return judge(expect, violations, error, coverage) as ProtocolLike['verdict'];
}

/** One protocol's parts (all of the same protocol, in unit order) as one result. */
export function combineProtocol(parts: Part[]): ProtocolLike & { witnesses: CombinedWitness[] } {
  const first = parts[0].result;
  const results = parts.map((p) => p.result);
  const violations = sumMap(results.map((r) => r.violations ?? {}));
  const ops = results.reduce((s, r) => s + (r.ops ?? 0), 0);
  const durationMs = results.reduce((s, r) => s + (r.durationMs ?? 0), 0);
  const firsts = results.map((r) => r.firstViolationMs).filter((ms): ms is number => typeof ms === 'number');
  const error = results.find((r) => r.error)?.error ?? null;
  let coverage: unknown;
  for (const r of results) coverage = sumCoverage(coverage, r.coverage);
  const combined: ProtocolLike & { witnesses: CombinedWitness[] } = {
    ...first,
    verdict: combinedVerdict(first.expect, violations, error, coverage),
    ops,
    opsPerSec: durationMs > 0 ? ops / (durationMs / 1000) : 0,
    retries: results.reduce((s, r) => s + (r.retries ?? 0), 0),
    violations,
    firstViolationMs: firsts.length ? Math.min(...firsts) : null,
    durationMs,
    roleOps: sumMap(results.map((r) => r.roleOps ?? {})),
    witnesses: dedupeWitnesses(first.name, parts),
    error,
  };
  if (coverage !== undefined) combined.coverage = coverage as Record<string, number>;
  else delete combined.coverage;
  return combined;
}
