/**
 * throughput.mjs — the multi-worker harness (tinybench times one function on one thread; this
 * drives whole stress runs through `runStress` from dist/run/runner.js):
 *
 *   throughput:    per sound protocol, total ops/s and retries/s with 1, 2 and (when the machine
 *                  has them) more workers, oracle on and off;
 *   pages:         per-op cost (ns of wall time per op) with 1 K, 64 K and 1 M pages;
 *   time to detect: per broken protocol, N seeds (20 in a full pass), median / p90 / max ms to
 *                  the first violation and how many seeds caught it, with the seeded window
 *                  widening on (the default) and off.
 *
 * Contract used (src/api/types.ts): runStress(StressOptions) -> RunResult { protocols: ProtocolResult[] }
 * with ProtocolResult.{ops, opsPerSec, retries, durationMs, firstViolationMs, violations, verdict,
 * expect, roleOps, error}; listProtocols() -> the built-in protocols with their `expect`.
 *
 * If dist/run/runner.js does not exist yet, every section here is skipped with a message saying so
 * (the micro-benchmarks still run). Standalone: `node bench/throughput.mjs [--quick]` prints the
 * JSON of all three sections.
 */
import os from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, quantile, r } from './lib/util.mjs';

export const RUNNER_PATH = fileURLToPath(new URL('../dist/run/runner.js', import.meta.url));
export const SOUND = ['interval-v5.5', 'odp-v5.4', 'kvm'];
/** The zoo's broken variants (src/protocols/zoo/, and hmm-v5.2): used only if listProtocols() gives no `expect`. */
const KNOWN_BROKEN = [
  'hmm-v5.2',
  'hmm-valid-unlocked',
  'interval-retry-unlocked',
  'interval-no-retry',
  'odp-seq-only',
  'walk-no-mmap-lock',
  'sync-no-fence',
  'hmm-eagain-leak',
  'odp-nonblock-rwsem-leak',
];

/** Load the runner, or { skipped } with a clear reason. */
export async function loadRunner() {
  if (!existsSync(RUNNER_PATH))
    return {
      skipped: `dist/run/runner.js does not exist yet (the protocol runner has not landed): run \`npm run build\` once it has; this section was skipped`,
    };
  try {
    const mod = await import(pathToFileURL(RUNNER_PATH).href);
    if (typeof mod.runStress !== 'function') return { skipped: 'dist/run/runner.js exports no runStress(): section skipped' };
    return { mod };
  } catch (e) {
    return { skipped: `dist/run/runner.js failed to load (${e.message}): section skipped` };
  }
}

/** Run one protocol once; returns its ProtocolResult (throws on a harness error). */
async function runOne(mod, protocol, opts) {
  const res = await mod.runStress({ protocol, recordEvents: opts.oracle ?? true, widenWindows: false, ...opts });
  const p = res.protocols?.find((x) => x.name === protocol) ?? res.protocols?.[0];
  if (!p) throw new Error(`runStress returned no result for ${protocol}`);
  if (p.error) throw new Error(`${protocol}: ${p.error.message}`);
  return { p, seed: res.seed };
}

const perSec = (n, ms) => (ms > 0 ? (n * 1000) / ms : null);

/**
 * "Workers" here = worker threads per role: the runner needs every role (cpu, invalidator,
 * driver, dma) on a thread of its own, so k workers = roles { each: k } = 4k threads. Measured:
 * k = 1, 2, then doubling while 4k threads fit the cores (k = 1, 2 on a 2-core machine, where
 * 4 threads already oversubscribe the cores).
 */
export function workerCounts(cores = os.availableParallelism()) {
  const out = [1, 2];
  for (let k = 4; 4 * k <= cores; k *= 2) out.push(k);
  return out;
}
const rolesFor = (k) => ({ cpu: k, invalidator: k, driver: k, dma: k });

export async function runThroughput({ quick, log, mod }) {
  const durationMs = quick ? 400 : 1500;
  const reps = quick ? 1 : 5;
  const workers = workerCounts();
  const rows = [];
  const errors = [];
  const cells = [];
  for (const protocol of SOUND)
    for (const oracle of [true, false])
      for (const k of workers) cells.push({ protocol, oracle, workers: k, opsS: [], retS: [], roleS: [], viol: 0, error: null });
  // reps outermost: every cell is sampled once per pass, so drift in background load spreads evenly
  for (let rep = 0; rep < reps; rep++) {
    for (const c of cells) {
      if (c.error) continue;
      log(`  throughput ${c.protocol} oracle ${c.oracle ? 'on' : 'off'} ${c.workers} worker(s)/role pass ${rep + 1}/${reps}`);
      try {
        const { p } = await runOne(mod, c.protocol, {
          durationMs,
          roles: rolesFor(c.workers),
          oracle: c.oracle,
          recordEvents: c.oracle,
          seed: 1000 + rep,
        });
        const ms = p.durationMs || durationMs;
        c.opsS.push(p.opsPerSec ?? perSec(p.ops, ms));
        c.retS.push(perSec(p.retries ?? 0, ms));
        c.roleS.push(Object.fromEntries(Object.entries(p.roleOps ?? {}).map(([role, n]) => [role, perSec(n, ms)])));
        c.viol += Object.values(p.violations ?? {}).reduce((a, b) => a + b, 0);
      } catch (e) {
        c.error = e.message;
        errors.push(`${c.protocol} workers/role=${c.workers} oracle=${c.oracle}: ${e.message}`);
      }
    }
  }
  for (const c of cells) {
    const roleNames = [...new Set(c.roleS.flatMap((x) => Object.keys(x)))];
    rows.push({
      protocol: c.protocol,
      oracle: c.oracle,
      workers: c.workers,
      threads: 4 * c.workers,
      opsPerSec: c.opsS.length ? r(median(c.opsS), 1) : null,
      retriesPerSec: c.retS.length ? r(median(c.retS), 1) : null,
      roleOpsPerSec: Object.fromEntries(roleNames.map((role) => [role, r(median(c.roleS.map((x) => x[role] ?? 0)), 1)])),
      runs: c.opsS.length,
      opsPerSecRuns: c.opsS.map((x) => r(x, 1)),
      violations: c.viol,
      error: c.error,
    });
  }
  // derived: scaling 1 -> 2 workers and oracle overhead, per protocol
  const find = (protocol, oracle, workers) => rows.find((x) => x.protocol === protocol && x.oracle === oracle && x.workers === workers);
  const derived = {};
  for (const protocol of SOUND) {
    const d = {};
    for (const oracle of [true, false]) {
      const a = find(protocol, oracle, 1)?.opsPerSec,
        b = find(protocol, oracle, 2)?.opsPerSec;
      d[oracle ? 'scaling1to2OracleOn' : 'scaling1to2OracleOff'] = a && b ? r(b / a, 3) : null;
    }
    d.oracleOverheadByWorkers = {};
    for (const w of workers) {
      const on = find(protocol, true, w)?.opsPerSec,
        off = find(protocol, false, w)?.opsPerSec;
      d.oracleOverheadByWorkers[w] = on && off ? r(off / on - 1, 4) : null; // 0.2 = oracle costs 20%
    }
    derived[protocol] = d;
  }
  return {
    durationMs,
    repsPerCell: reps,
    workers,
    workersMeaning:
      'worker threads per role: k workers = roles { cpu: k, invalidator: k, driver: k, dma: k } = 4k threads (the runner needs every role)',
    cores: os.availableParallelism(),
    config:
      'runStress({ protocol, roles: { each: k }, durationMs, oracle, recordEvents: oracle, widenWindows: false, seed }); default pages/events',
    rows,
    derived,
    errors,
  };
}

export async function runPages({ quick, log, mod }) {
  const durationMs = quick ? 400 : 1500;
  const reps = quick ? 1 : 5;
  const sizes = [1024, 65536, 1048576];
  const rows = [];
  const errors = [];
  const cells = [];
  for (const protocol of SOUND) for (const pages of sizes) cells.push({ protocol, pages, ns: [], driverNs: [], error: null });
  for (let rep = 0; rep < reps; rep++) {
    for (const c of cells) {
      if (c.error) continue;
      log(`  pages ${c.protocol} ${c.pages} pass ${rep + 1}/${reps}`);
      try {
        const { p } = await runOne(mod, c.protocol, { durationMs, pages: c.pages, oracle: true, seed: 2000 + rep });
        const ms = p.durationMs || durationMs;
        const ops = p.opsPerSec ?? perSec(p.ops, ms);
        if (ops > 0) c.ns.push(1e9 / ops);
        const drv = perSec(p.roleOps?.driver ?? 0, ms);
        if (drv !== null && drv > 0) c.driverNs.push(1e9 / drv);
      } catch (e) {
        c.error = e.message;
        errors.push(`${c.protocol} pages=${c.pages}: ${e.message}`);
      }
    }
  }
  for (const c of cells)
    rows.push({
      protocol: c.protocol,
      pages: c.pages,
      nsPerOp: c.ns.length ? r(median(c.ns), 1) : null,
      nsPerDeviceFault: c.driverNs.length ? r(median(c.driverNs), 1) : null,
      runs: c.ns.length,
      nsPerOpRuns: c.ns.map((x) => r(x, 1)),
      error: c.error,
    });
  const flatness = {};
  for (const protocol of SOUND) {
    const xs = rows.filter((x) => x.protocol === protocol && x.nsPerOp != null).map((x) => x.nsPerOp);
    const small = rows.find((x) => x.protocol === protocol && x.pages === 1024)?.nsPerOp;
    const big = rows.find((x) => x.protocol === protocol && x.pages === 1048576)?.nsPerOp;
    flatness[protocol] = {
      maxOverMin: xs.length ? r(Math.max(...xs) / Math.min(...xs), 3) : null,
      largeOverSmall: small && big ? r(big / small, 3) : null,
    };
  }
  return {
    durationMs,
    repsPerCell: reps,
    sizes,
    config: 'runStress({ protocol, pages, durationMs, oracle: true, widenWindows: false, seed }); default threads (one per role)',
    unit: 'ns of wall time per op (1e9 / ops per second, all workers together)',
    rows,
    flatness,
    errors,
  };
}

async function brokenProtocols(mod) {
  if (typeof mod.listProtocols !== 'function') return { names: KNOWN_BROKEN, source: 'built-in list (runner has no listProtocols())' };
  const list = await mod.listProtocols();
  const arr = Array.isArray(list) ? list : Object.values(list ?? {});
  const named = arr.map((x) => (typeof x === 'string' ? { name: x } : x));
  if (named.some((x) => x.expect !== undefined)) {
    return {
      names: named.filter((x) => x.expect !== 'sound').map((x) => x.name),
      expect: Object.fromEntries(named.map((x) => [x.name, x.expect])),
      source: 'listProtocols()',
    };
  }
  return {
    names: named.map((x) => x.name).filter((n) => !SOUND.includes(n)),
    source: 'listProtocols() (no expect given: every name not in the sound list)',
  };
}

/** @param {{ quick: boolean, log: (line: string) => void, mod: any, seeds?: number }} options */
export async function runDetect({ quick, log, mod, seeds: seedsOpt }) {
  const seeds = seedsOpt ?? (quick ? 5 : 20);
  const capMs = quick ? 3000 : 6000; // above the watchdog's 2 s, so stalls and deadlocks can be seen
  const { names, expect, source } = await brokenProtocols(mod);
  const rows = [];
  const errors = [];
  for (const widen of [true, false]) {
    for (const protocol of names) {
      const times = [];
      const kinds = {};
      let caught = 0,
        ran = 0;
      let err = null;
      log(`  detect ${protocol} widen ${widen ? 'on' : 'off'}: ${seeds} seeds`);
      for (let s = 1; s <= seeds; s++) {
        try {
          const res = await mod.runStress({ protocol, seed: s, durationMs: capMs, widenWindows: widen, stopOnViolation: true });
          const p = res.protocols?.find((x) => x.name === protocol) ?? res.protocols?.[0];
          if (!p) throw new Error('no result');
          if (p.error) throw new Error(p.error.message);
          ran++;
          if (p.firstViolationMs != null) {
            caught++;
            times.push(p.firstViolationMs);
          }
          for (const [k, n] of Object.entries(p.violations ?? {})) if (n) kinds[k] = (kinds[k] ?? 0) + n;
        } catch (e) {
          err = e.message;
          errors.push(`${protocol} seed ${s} widen=${widen}: ${e.message}`);
        }
      }
      const exp = expect?.[protocol];
      const want = exp && typeof exp === 'object' ? exp.violates : null;
      rows.push({
        protocol,
        widenWindows: widen,
        seeds,
        ran,
        caught,
        medianMs: times.length ? r(median(times), 1) : null,
        p90Ms: times.length ? r(quantile(times, 0.9), 1) : null,
        maxMs: times.length ? r(Math.max(...times), 1) : null,
        kindsSeen: kinds,
        expectedKinds: want,
        expectedKindSeen: want ? want.some((k) => kinds[k]) : null,
        error: err,
      });
    }
  }
  return {
    seeds,
    capMs,
    source,
    config:
      'runStress({ protocol, seed: 1..N, durationMs: cap, widenWindows, stopOnViolation: true }); default threads/pages/events; a seed that saw no violation within the cap is "not caught"',
    rows,
    errors,
  };
}

// standalone
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  const log = (s) => process.stderr.write(s + '\n');
  const got = await loadRunner();
  if (got.skipped) {
    console.log(JSON.stringify({ skipped: got.skipped }, null, 2));
  } else {
    const out = {
      throughput: await runThroughput({ quick, log, mod: got.mod }),
      pages: await runPages({ quick, log, mod: got.mod }),
      detect: await runDetect({ quick, log, mod: got.mod }),
    };
    console.log(JSON.stringify(out, null, 2));
  }
}
