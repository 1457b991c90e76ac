#!/usr/bin/env node
// node scripts/history-witnesses.mjs [--write] [--pair NAME]... [--schedules 400] [--max-runs 200] [--note-only] [--free-ms 4000]
// The witness of each kernel-history bug (hmmsim list --history) for docs/history.md:
//   1. its schedule from test/corpus/ when one is there (replayed: shrunk already), else
//   2. controlled mode, seed 1, pct then random, at most --schedules each: the first violation,
//      shrunk (the library's shrink) to the fewest context switches that still show its kind, else
//   3. a free-running run's witness (seeds 1, 2, 3, --free-ms each, stop at the first violation),
//      labelled as such: controlled mode does not find every bug yet (test/controlled.test.ts,
//      NOT_YET). With --note-only, just a note saying so (the section's annotated witness stands).
// Prints each block; with --write, replaces docs/history.md's blocks between
// `<!-- witness:NAME -->` and `<!-- /witness:NAME -->` (a bug without markers is only printed).
// Rerun it after a change to controlled mode or to a pair: the blocks say how each was obtained.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runStress, listProtocols, shrink, replay } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    write: { type: 'boolean', default: false },
    pair: { type: 'string', multiple: true },
    schedules: { type: 'string', default: '400' },
    'max-runs': { type: 'string', default: '200' },
    'note-only': { type: 'boolean', default: false },
    'free-ms': { type: 'string', default: '4000' },
    'max-lines': { type: 'string', default: '70' },
  },
});
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const corpusDir = join(root, 'test', 'corpus');
const docPath = join(root, 'docs', 'history.md');
const schedules = Number(values.schedules);
const maxRuns = Number(values['max-runs']);
const freeMs = Number(values['free-ms']);
const maxLines = Number(values['max-lines']);

const bugs = (await listProtocols()).filter(
  (p) => p.history?.side === 'bug' && (!values.pair || values.pair.some((n) => p.name === n || p.history?.twin === n)),
);

/** A witness's text, at most maxLines lines (the middle cut, and said so). */
function trimmed(text) {
  const lines = text.trimEnd().split('\n');
  if (lines.length <= maxLines) return lines.join('\n');
  const head = Math.ceil(maxLines * 0.3);
  const tail = maxLines - head - 1;
  return [
    ...lines.slice(0, head),
    `   ... (${lines.length - head - tail} lines cut here by scripts/history-witnesses.mjs) ...`,
    ...lines.slice(-tail),
  ].join('\n');
}

/** test/corpus/NAME-KIND-HASH.json for this protocol, if any. */
function corpusFile(name) {
  if (!existsSync(corpusDir)) return null;
  const f = readdirSync(corpusDir).find(
    (x) => x.startsWith(`${name}-`) && JSON.parse(readFileSync(join(corpusDir, x), 'utf8')).protocols?.[0]?.name === name,
  );
  return f ? join(corpusDir, f) : null;
}

async function fromCorpus(name) {
  const file = corpusFile(name);
  if (!file) return null;
  const [r] = await replay(file);
  if (!r?.witness || r.status === 'divergence') return null;
  return { how: `controlled mode, the shrunk schedule in test/corpus/${file.split('/').pop()} (replayed)`, text: r.witness.text };
}

async function fromControlled(name) {
  for (const strategy of /** @type {('pct' | 'random')[]} */ (['pct', 'random'])) {
    const r = await runStress({ protocol: name, mode: 'controlled', strategy, seed: 1, schedules, stopOnViolation: true });
    const p = r.protocols[0];
    const w = p.witnesses[0];
    if (p.error || !w?.schedule) continue;
    const s = await shrink({ schedule: w.schedule, witness: w, where: name }, { maxRuns });
    const first = p.controlled?.firstViolationSchedule;
    return {
      how:
        `controlled mode (${strategy}, seed 1: schedule ${(first ?? 0) + 1} of at most ${schedules}), shrunk from ` +
        `${s.switchesBefore} to ${s.switchesAfter} context switches (${s.runs} replays)`,
      text: s.witness.text,
    };
  }
  return null;
}

async function fromFreeRunning(name) {
  if (values['note-only'])
    return {
      how: null,
      note: `Controlled mode (seed 1, pct and random, ${schedules} schedules each) did not find it: the free-running witness above stands, not shrunk.`,
    };
  for (const seed of [1, 2, 3]) {
    const p = (await runStress({ protocol: name, seed, durationMs: freeMs, stopOnViolation: true })).protocols[0];
    const w = p.witnesses[0];
    if (p.error || !w) continue;
    return {
      how: `free-running, seed ${seed}, not shrunk (controlled mode did not find it in ${schedules} schedules of seed 1, pct or random)`,
      text: w.text,
      note: '',
    };
  }
  return null;
}

let doc = readFileSync(docPath, 'utf8');
let missing = 0;
for (const b of bugs) {
  const t0 = performance.now();
  const got = (await fromCorpus(b.name)) ?? (await fromControlled(b.name)) ?? (await fromFreeRunning(b.name));
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (!got) {
    missing++;
    console.log(`${b.name}: no witness (${secs} s)`);
    continue;
  }
  const body = got.how ? `A witness from ${got.how}:\n\n\`\`\`\n${trimmed(got.text)}\n\`\`\`` : got.note;
  const block = `<!-- witness:${b.name} -->\n${body}\n<!-- /witness:${b.name} -->`;
  console.log(`${b.name} (${secs} s):\n${block}\n`);
  const re = new RegExp(`<!-- witness:${b.name} -->[\\s\\S]*?<!-- /witness:${b.name} -->`);
  if (values.write) {
    if (re.test(doc)) doc = doc.replace(re, () => block);
    else console.log(`  (docs/history.md has no witness markers for ${b.name}: printed only)`);
  }
}
if (values.write) writeFileSync(docPath, doc);
process.exit(missing ? 1 : 0);
