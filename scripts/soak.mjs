#!/usr/bin/env node
// npm run soak [-- --minutes N] — the sound protocols under the default mix for minutes, in
// rounds of 30 s with fresh seeds; any violation (or harness error) fails the soak (exit 1).
//
// npm run soak -- --continuous [--minutes 60] — long single sessions instead of rounds. A short
// calibration run measures the event rate this machine gives now; then each broken protocol
// (--broken, default interval-no-retry) runs one session for half the time, keeping its most
// recent witnesses of each kind besides the first ones, and its event ticket must pass 2^32: from
// 0 where the rate allows it, else from a head start (StressOptions.ticketStart, printed) that puts
// the crossing a tenth of the calibrated events in. Every witness is checked mechanically
// (scripts/witness-check.mjs: ticket order, the violation last, the record, the text, and a ticket
// above 2^32 for every witness taken after the run passed it). Then each sound protocol runs one
// session for its share of the time left, its ticket crossing 2^32 the same way: 0 violations.
// Prints progress every minute and a summary; exit 1 on any failure.
// --selftest: a short run whose witnesses must check out and whose corrupted copies must not.
import { parseArgs } from 'node:util';
import os from 'node:os';
import { runStress } from '../dist/index.js';
import { TICKET_WRAP, checkWitness, corruptions, pastWrap } from './witness-check.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    protocol: { type: 'string', multiple: true },
    continuous: { type: 'boolean', default: false },
    broken: { type: 'string', multiple: true },
    selftest: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error('soak: --minutes must be a positive number');
  process.exit(2);
}
const protocols = values.protocol ?? ['interval-v5.5', 'odp-v5.4', 'kvm'];
const broken = values.broken ?? ['interval-no-retry'];
const fmt = (n) => Math.round(n).toLocaleString('en');
const seedOf = () => (Math.random() * 2 ** 31) >>> 0;
/** Witnesses: keep the most recent of each kind, refreshed this often (ms). */
const LATEST_MS = 2000;
/** Clock skew between a worker's and the main thread's reading, and the progress sampling (ms). */
const SKEW_MS = 50;

if (values.selftest) process.exit(await selftest());
process.exit(values.continuous ? await continuous() : await rounds());

async function rounds() {
  const roundMs = 30_000;
  const perProtocol = (minutes * 60_000) / protocols.length;
  let failed = false;
  for (const name of protocols) {
    const tot = { ops: 0, driver: 0, invalidator: 0, retries: 0, rounds: 0, ms: 0 };
    for (let done = 0; done < perProtocol; done += roundMs) {
      const seed = seedOf();
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
  return failed ? 1 : 0;
}

/**
 * One long session of `protocol` for `ms`, its ticket starting at `ticketStart`, sampling the
 * ticket every ~100 ms so each witness's time can be placed before or after the ticket passed
 * 2^32, and printing progress every minute.
 */
async function session(protocol, ms, ticketStart = 0) {
  // a machine too loaded to start the workers within the barrier's bound is no finding: try again
  for (let attempt = 1; ; attempt++) {
    const s = await sessionOnce(protocol, ms, ticketStart);
    if (attempt === 3 || !/did not reach the start barrier/.test(s.p.error?.message ?? '')) return s;
    console.log(`  ${protocol}: ${s.p.error?.message}; starting it again`);
  }
}

async function sessionOnce(protocol, ms, ticketStart) {
  const seed = seedOf();
  const samples = { below: -Infinity, above: Infinity };
  let nextLog = 60_000;
  const r = await runStress({
    protocol,
    seed,
    durationMs: Math.max(1, Math.round(ms)),
    latestWitnessMs: LATEST_MS,
    ...(ticketStart ? { ticketStart } : {}),
    onProgress: (p) => {
      const ticket = ticketStart + (p.events ?? 0);
      if (ticket <= TICKET_WRAP) samples.below = p.elapsedMs;
      else if (samples.above === Infinity) samples.above = p.elapsedMs;
      if (p.elapsedMs >= nextLog) {
        nextLog += 60_000;
        console.log(
          `  [${new Date().toISOString().slice(11, 19)}] ${protocol} ${(p.elapsedMs / 1000).toFixed(0)} s: ${fmt(p.events ?? 0)} events ` +
            `(${((p.events ?? 0) / p.elapsedMs / 1000).toFixed(2)} M/s), ticket ${fmt(ticket)}, ${p.violations} violations`,
        );
      }
    },
  });
  const p = r.protocols[0];
  return { seed, p, ticketStart, ticketEnd: ticketStart + (p.events ?? 0), passedAtMs: samples.above, belowAtMs: samples.below };
}

/**
 * Where a session of `ms` at `rate` events/ms must start its ticket to pass 2^32 (0: it does from
 * 0). The calibration's rate is an upper bound: on a shared machine a long session's rate falls to
 * a third of it or less, so the ticket starts from 0 only with a 3x margin, and a head start puts
 * the crossing a tenth of the expected events in (it still crosses if the rate falls tenfold).
 */
function headStart(rate, ms) {
  const events = rate * ms;
  return events >= TICKET_WRAP * 3 ? 0 : Math.round(TICKET_WRAP - events / 10);
}

function startLine(s) {
  return s.ticketStart
    ? `ticket from ${fmt(s.ticketStart)} (head start: 2^32 events would take ${s.wrapMin} min at the measured rate)`
    : 'ticket from 0';
}

/** Check every oracle witness of a session; returns [checked, above 2^32, problems]. */
function checkSession(s) {
  const problems = [];
  let checked = 0,
    above = 0;
  for (const w of s.p.witnesses) {
    if (!w.record) continue; // deadlock/stall: the watchdog's, not the oracle's record
    const ticketAbove = w.atMs > s.passedAtMs + SKEW_MS ? true : w.atMs < s.belowAtMs - SKEW_MS ? false : undefined;
    const found = checkWitness(w, { protocol: s.p.name, ticketAbove });
    checked++;
    if (w.record.ticket > TICKET_WRAP) above++;
    for (const what of found) problems.push(`${s.p.name} seed ${s.seed} ${w.kind} at ${w.atMs.toFixed(0)} ms: ${what}`);
    if (found.length) console.log(`${w.text}\n`);
  }
  return { checked, above, problems };
}

async function continuous() {
  const startMs = Date.now();
  const totalMs = minutes * 60_000;
  console.log(
    `soak --continuous: ${minutes} min from ${new Date(startMs).toISOString()}, ${os.cpus().length} cores, ` +
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  const summary = [];
  const problems = [];
  /** A session's summary lines: printed now, and again at the end. */
  const say = (...lines) => {
    for (const line of lines) console.log(line);
    summary.push(...lines);
  };
  // calibration: the event rate this machine gives now (its witnesses are checked too)
  const calib = await session(broken[0], 20_000);
  const rate = (calib.p.events ?? 0) / Math.max(1, calib.p.durationMs);
  const calibChecked = checkSession(calib);
  problems.push(...calibChecked.problems);
  console.log(
    `calibration: ${broken[0]} ${fmt(calib.p.events ?? 0)} events in ${(calib.p.durationMs / 1000).toFixed(0)} s ` +
      `(${(rate / 1000).toFixed(2)} M/s), violations ${JSON.stringify(calib.p.violations)}, verdict ${calib.p.verdict}`,
  );
  if (calib.p.error) problems.push(`calibration ${broken[0]} seed ${calib.seed}: ${calib.p.error.message}`);
  if (calib.p.verdict === 'fail')
    problems.push(`calibration ${broken[0]} seed ${calib.seed}: verdict fail (kinds ${Object.keys(calib.p.violations).join(',')})`);
  for (const w of calib.p.witnesses.filter((x) => !x.record)) console.log(w.text);
  const wrapMin = Math.round(TICKET_WRAP / Math.max(rate, 1) / 60_000);
  // broken protocols: half the time
  for (const name of broken) {
    const ms = (totalMs * 0.5) / broken.length;
    const s = { ...(await session(name, ms, headStart(rate, ms))), wrapMin };
    const p = s.p;
    const c = checkSession(s);
    problems.push(...c.problems);
    for (const w of p.witnesses.filter((x) => !x.record)) console.log(w.text);
    if (p.starvation)
      console.log(`  ${name}: stall judgement put off ${p.starvation.steps} times for starvation, first ${p.starvation.first}`);
    const latest = p.witnesses.filter((w) => w.latest && w.record);
    const last = [...latest].sort((a, b) => b.atMs - a.atMs)[0];
    if (p.error) problems.push(`${name} seed ${s.seed}: ${p.error.message}`);
    if (p.verdict === 'fail') problems.push(`${name} seed ${s.seed}: verdict fail (kinds ${Object.keys(p.violations).join(',')})`);
    if (s.ticketEnd <= TICKET_WRAP) problems.push(`${name}: the session's ticket did not pass 2^32 (it ended at ${fmt(s.ticketEnd)})`);
    if (!c.above) problems.push(`${name}: no witness with a ticket above 2^32 was checked`);
    say(
      `${name.padEnd(18)} 1 session (seed ${s.seed}), ${(p.durationMs / 1000).toFixed(0)} s: ${fmt(p.events ?? 0)} events ` +
        `(${((p.events ?? 0) / p.durationMs / 1000).toFixed(2)} M/s), ${startLine(s)}, passed 2^32 at ` +
        `${Number.isFinite(s.passedAtMs) ? `${(s.passedAtMs / 1000).toFixed(0)} s` : 'never'}, ended at ${fmt(s.ticketEnd)}; ${fmt(p.ops)} ops; ` +
        `violations ${JSON.stringify(p.violations)}; verdict ${p.verdict}`,
      `${''.padEnd(18)} witnesses checked ${c.checked} (${c.above} with ticket > 2^32, ${latest.length} kept as latest, the last at ` +
        `${last ? `${(last.atMs / 1000).toFixed(1)} s, ticket ${fmt(last.record?.ticket ?? 0)}` : '-'}), ${c.problems.length} problems` +
        ` (calibration run: ${calibChecked.checked} checked, ${calibChecked.problems.length} problems)`,
    );
  }
  // then the sound protocols: one session each, sharing the time left
  for (let i = 0; i < protocols.length; i++) {
    const name = protocols[i];
    const leftMs = totalMs - (Date.now() - startMs);
    const ms = Math.max(10_000, leftMs / (protocols.length - i));
    const s = { ...(await session(name, ms, headStart(rate, ms))), wrapMin };
    const p = s.p;
    const total = Object.values(p.violations).reduce((a, b) => a + b, 0);
    if (total) problems.push(`${name} seed ${s.seed}: ${JSON.stringify(p.violations)}`);
    if (p.error) problems.push(`${name} seed ${s.seed}: ${p.error.message}`);
    for (const w of p.witnesses.slice(0, 1)) console.log(w.text);
    if (p.starvation)
      console.log(`  ${name}: stall judgement put off ${p.starvation.steps} times for starvation, first ${p.starvation.first}`);
    say(
      `${name.padEnd(18)} 1 session (seed ${s.seed}), ${(p.durationMs / 1000).toFixed(0)} s: ${fmt(p.events ?? 0)} events ` +
        `(${((p.events ?? 0) / p.durationMs / 1000).toFixed(2)} M/s), ${startLine(s)}, ended at ${fmt(s.ticketEnd)}, ` +
        `${fmt(p.ops)} ops, ${fmt(p.roleOps.driver ?? 0)} device faults, ` +
        `${fmt(p.roleOps.invalidator ?? 0)} invalidator ops, ${fmt(p.retries)} retries, ABA window ${fmt(p.coverage?.aba ?? 0)}, ` +
        `${total ? `${total} VIOLATIONS` : '0 violations'}, verdict ${p.verdict}`,
    );
  }
  for (const line of problems) console.log(`FAIL ${line}`);
  console.log('summary:');
  for (const line of summary) console.log(line);
  console.log(
    `soak --continuous: ${((Date.now() - startMs) / 60_000).toFixed(1)} min, load average at the end ` +
      `${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}: ${problems.length ? `FAIL (${problems.length} problems)` : 'PASS'}`,
  );
  return problems.length ? 1 : 0;
}

/** A short broken run: its witnesses check out, and every corrupted copy of one fails the check. */
async function selftest() {
  const s = await session(broken[0], 3000);
  const c = checkSession(s);
  let bad = c.problems.length;
  for (const line of c.problems) console.log(`FAIL ${line}`);
  const sample = s.p.witnesses.find((w) => w.record && w.events.length >= 3);
  if (!sample) {
    console.log(`FAIL ${broken[0]}: no witness to corrupt`);
    return 1;
  }
  // the same witness as if taken past 2^32 checks out there, and fails if its tickets wrapped
  const moved = pastWrap(sample);
  for (const what of checkWitness(moved, { protocol: s.p.name, ticketAbove: true })) {
    bad++;
    console.log(`FAIL the witness moved past 2^32: ${what}`);
  }
  for (const bent of [...corruptions(sample), ...corruptions(moved)]) {
    const found = checkWitness(bent.w, { protocol: s.p.name, ticketAbove: bent.ticketAbove });
    if (!found.length) {
      bad++;
      console.log(`FAIL the checker missed: ${bent.what}`);
    } else console.log(`caught ${bent.what}: ${found[0]}`);
  }
  console.log(`soak --selftest: ${c.checked} witnesses of ${s.p.name} checked, ${bad ? `FAIL (${bad})` : 'PASS'}`);
  return bad ? 1 : 0;
}
