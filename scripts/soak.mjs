#!/usr/bin/env node
// npm run soak [-- --minutes N] — the sound protocols under the default mix for minutes, in
// rounds of 30 s with fresh seeds; any violation (or harness error) fails the soak (exit 1).
import { parseArgs } from 'node:util';
import { runStress } from '../dist/index.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '3' }, protocol: { type: 'string', multiple: true } } });
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error('soak: --minutes must be a positive number');
  process.exit(2);
}
const protocols = values.protocol ?? ['interval-v5.5', 'odp-v5.4', 'kvm'];
const roundMs = 30_000;
const perProtocol = (minutes * 60_000) / protocols.length;
let failed = false;
for (const name of protocols) {
  const tot = { ops: 0, driver: 0, invalidator: 0, retries: 0, rounds: 0, ms: 0 };
  for (let done = 0; done < perProtocol; done += roundMs) {
    const seed = (Math.random() * 2 ** 31) >>> 0;
    const r = await runStress({ protocol: name, durationMs: Math.min(roundMs, perProtocol - done), seed });
    const p = r.protocols[0];
    tot.ops += p.ops;
    tot.driver += p.roleOps.driver ?? 0;
    tot.invalidator += p.roleOps.invalidator ?? 0;
    tot.retries += p.retries;
    tot.rounds++;
    tot.ms += p.durationMs;
    if (p.verdict !== 'pass') {
      failed = true;
      console.log(`${name} seed ${seed}: ${JSON.stringify(p.violations)} ${p.error?.message ?? ''}`);
      for (const w of p.witnesses.slice(0, 1)) console.log(w.text);
    }
  }
  console.log(
    `${name.padEnd(14)} ${tot.rounds} rounds, ${(tot.ms / 1000).toFixed(0)} s: ${tot.ops.toLocaleString('en')} ops, ` +
      `${tot.driver.toLocaleString('en')} device faults, ${tot.invalidator.toLocaleString('en')} invalidator ops, ${tot.retries.toLocaleString('en')} retries, ${failed ? 'VIOLATIONS' : '0 violations'}`,
  );
}
process.exit(failed ? 1 : 0);
