#!/usr/bin/env node
// node scripts/history-check.mjs [--seeds 20] [--bug-ms 2000] [--watchdog-ms 2000] [--fix-runs 3] [--fix-ms 10000] [--pair NAME]...
// The kernel-history pairs (hmmsim list --history): each bug over seeds 1..N, counting the seeds
// whose run shows one of its declared kinds (and nothing else); each fix over several runs of
// fresh seeds, which must stay clean. Prints one line per protocol; exit 1 if a bug was missed
// or a fix violated.
import { parseArgs } from 'node:util';
import { runStress, listProtocols } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    'bug-ms': { type: 'string', default: '2000' },
    'fix-runs': { type: 'string', default: '3' },
    'fix-ms': { type: 'string', default: '10000' },
    pair: { type: 'string', multiple: true },
    'watchdog-ms': { type: 'string', default: '2000' },
  },
});
const watchdogMs = Number(values['watchdog-ms']);
const seeds = Number(values.seeds),
  bugMs = Number(values['bug-ms']),
  fixRuns = Number(values['fix-runs']),
  fixMs = Number(values['fix-ms']);
const history = (await listProtocols()).filter(
  (p) => p.history && (!values.pair || values.pair.some((n) => p.name === n || p.history?.twin === n)),
);
let failed = false;
for (const p of history) {
  const h = p.history;
  if (!h) continue;
  if (h.side === 'bug') {
    let caught = 0;
    const firsts = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const r = (await runStress({ protocol: p.name, seed, durationMs: bugMs, stopOnViolation: true, watchdogMs })).protocols[0];
      if (r.verdict === 'pass' && !r.error) {
        caught++;
        firsts.push(r.firstViolationMs);
      } else console.log(`  ${p.name} seed ${seed}: ${r.verdict} ${JSON.stringify(r.violations)} ${r.error?.message ?? ''}`);
    }
    firsts.sort((a, b) => a - b);
    const median = firsts.length ? firsts[Math.floor(firsts.length / 2)] : null;
    if (caught < seeds) failed = true;
    console.log(`${p.name.padEnd(30)} bug  ${h.commit}  caught ${caught}/${seeds} seeds (${bugMs} ms runs), median first ${median} ms`);
  } else {
    let clean = 0,
      inconclusive = 0,
      ops = 0,
      faults = 0;
    for (let i = 0; i < fixRuns; i++) {
      const seed = (Math.random() * 2 ** 31) >>> 0;
      const r = (await runStress({ protocol: p.name, seed, durationMs: fixMs })).protocols[0];
      ops += r.ops;
      faults += r.roleOps.driver ?? 0;
      if (r.verdict === 'pass' && !r.error) clean++;
      else if (r.verdict === 'inconclusive' && !r.error) {
        // clean (no violation), but a race window was never reached in this run
        clean++;
        inconclusive++;
      } else {
        failed = true;
        console.log(`  ${p.name} seed ${seed}: ${JSON.stringify(r.violations)} ${r.error?.message ?? ''}`);
        for (const w of r.witnesses.slice(0, 1)) console.log(w.text);
      }
    }
    // a fix that keeps an older known race (hmm-eagain-leak-fix) declares it: "as expected" = that race only, not the bug's
    const what = p.expect === 'sound' ? 'clean' : `as expected (${p.expect.violates.join(',')} only)`;
    console.log(
      `${p.name.padEnd(30)} fix  ${h.commit}  ${what} ${clean}/${fixRuns} runs of ${fixMs} ms${inconclusive ? ` (${inconclusive} inconclusive: a race window not reached)` : ''}: ${ops.toLocaleString('en')} ops, ${faults.toLocaleString('en')} device faults`,
    );
  }
}
process.exit(failed ? 1 : 0);
