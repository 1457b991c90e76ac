/**
 * verdict.ts — a protocol's verdict from what the oracle counted: the one rule that the runner,
 * controlled mode, the campaign merge and the demo all judge by.
 */
import type { ViolationKind } from '../api/kinds.js';
import type { Expectation, Verdict } from '../api/types.js';
import { RELEVANT_WINDOWS } from './coverage.js';

/**
 * Sound: no violation (and, when `coverage` is given, every relevant race window hit at least
 * once, else 'inconclusive'). Broken: at least one declared kind, and nothing undeclared.
 */
export function verdictOf(
  expect: Expectation,
  violations: Partial<Record<ViolationKind, number>>,
  error?: unknown,
  coverage?: Partial<Record<string, number>>,
): Verdict {
  if (error) return 'fail';
  const seen = (Object.keys(violations) as ViolationKind[]).filter((k) => (violations[k] ?? 0) > 0);
  if (expect === 'sound') {
    if (seen.length) return 'fail';
    // judged on the windows the map has (a map from elsewhere without them is not judged)
    return coverage && RELEVANT_WINDOWS.some((w) => w in coverage && !coverage[w]) ? 'inconclusive' : 'pass';
  }
  return seen.length > 0 && seen.every((k) => expect.violates.includes(k)) ? 'pass' : 'fail';
}
