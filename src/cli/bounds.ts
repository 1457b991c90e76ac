/**
 * bounds.ts — the rule of three: after n trials with no event, 3/n is a 95% upper bound on the
 * event's rate (the exact bound, 1 - 0.05^(1/n), is about 3/n). Applied to a clean protocol's ops
 * and to the hits of each race window it covered (docs/campaigns.md).
 */
import type { ProtocolResult } from '../api/types.js';

/** 95% upper bound on a rate after n trials with no event: 3/n (rule of three; null when n is 0). */
export const ruleOfThree = (n: number): number | null => (n > 0 ? 3 / n : null);

export interface Bounds {
  /** Per operation, over `ops` operations. */
  ops: number;
  perOp: number | null;
  /** Per hit of each race window, when the run counted coverage. */
  windows?: Record<string, { hits: number; perHit: number | null }>;
}

export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Bounds for a clean protocol (no violation, no harness failure), else undefined. */
export function boundsOf(p: {
  ops: number;
  violations: ProtocolResult['violations'];
  error?: unknown;
  coverage?: unknown;
}): Bounds | undefined {
  if (p.error || Object.values(p.violations).some((n) => (n ?? 0) > 0)) return undefined;
  const bounds: Bounds = { ops: p.ops, perOp: ruleOfThree(p.ops) };
  if (isRecord(p.coverage)) {
    bounds.windows = {};
    for (const [window, hits] of Object.entries(p.coverage))
      if (typeof hits === 'number') bounds.windows[window] = { hits, perHit: ruleOfThree(hits) };
  }
  return bounds;
}
