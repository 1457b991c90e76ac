/**
 * corpus.ts — the regression corpus: one small JSON report per distinct failing schedule,
 * deduplicated by protocol, violation kind and the witness's shape (its lines with every number
 * and address blanked), so the same race found by another seed is not stored twice.
 * `hmmsim replay DIR` replays them all (replay.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult, Witness } from '../api/types.js';
import { writeFileAtomic } from '../cli/report.js';

/** The witness's shape: who did what, without the numbers (pages, pfns, steps, sequence values). */
export function witnessShape(w: Witness): string {
  const lines = w.events.map((e) => `${e.role} ${e.text.replace(/0x[0-9a-f]+|\d+/g, '#')}`);
  return createHash('sha256')
    .update(`${w.kind}\n${lines.join('\n')}`)
    .digest('hex')
    .slice(0, 12);
}

export function corpusName(protocol: string, w: Witness): string {
  return `${protocol.replace(/[^\w.-]+/g, '_')}-${w.kind}-${witnessShape(w)}.json`;
}

/** Store every witness with a schedule in `dir` (created if missing); returns the files written (new ones only). */
export function saveFailures(result: RunResult, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const have = new Set(readdirSync(dir));
  const written: string[] = [];
  for (const p of result.protocols)
    for (const w of p.witnesses) {
      if (!w.schedule) continue;
      const name = corpusName(w.schedule.protocol, w);
      if (have.has(name) || existsSync(join(dir, name))) continue;
      have.add(name);
      const entry = {
        version: result.version,
        seed: w.schedule.seed,
        config: result.config,
        protocols: [{ name: p.name, expect: p.expect, witnesses: [w] }],
      };
      writeFileAtomic(join(dir, name), JSON.stringify(entry, null, 2) + '\n');
      written.push(join(dir, name));
    }
  return written;
}
