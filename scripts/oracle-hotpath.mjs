/**
 * oracle-hotpath.mjs — the oracle's cost on its hot paths, one thread, two builds side by side in
 * one process (interleaved passes, medians): ns per DMA access (64-word transfer) and per
 * 16-page device program, oracle on and off. Less sensitive to a shared machine than whole runs.
 *
 *   node scripts/oracle-hotpath.mjs --before /path/to/old/dist [--passes 5]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const builds = { before: path.resolve(arg('before', '')), after: path.resolve(new URL('../dist', import.meta.url).pathname) };
const passes = Number(arg('passes', 5));
const imp = (dist, f) => import(pathToFileURL(path.join(dist, f)).href);

async function setup(dist) {
  const { Session } = await imp(dist, 'run/session.js');
  const { Ctx } = await imp(dist, 'model/ctx.js');
  const { importProtocol } = await imp(dist, 'protocols/loader.js');
  const { builtinUrl } = await imp(dist, 'protocols/builtin.js');
  const { loadModule } = await imp(dist, 'memory/wasm-node.js');
  const { handleMmFault } = await imp(dist, 'model/mm/fault.js');
  const proto = await importProtocol(builtinUrl('kvm'), 'kvm');
  const s = new Session({
    proto,
    protocolUrl: '',
    protocolWhere: 'kvm',
    module: loadModule(),
    layout: {
      pages: 256,
      devices: 1,
      subsPerDevice: 4,
      threads: 3,
      rangeMax: 64,
      ringEntries: 256,
      protoMmLines: 8,
      protoSubLines: 8,
      protoRangeLines: 4,
    },
    roles: ['driver', 'dma'],
    seed: 1,
    events: ['munmap'],
    oracle: true,
    recordEvents: false,
    widen: false,
    stopOnViolation: false,
    lockTimeoutMs: 2000,
    sliceMs: 50,
  });
  const env = { i32: s.i32, wasm: s.wasm, tid: 0, lockTimeoutMs: 2000, sliceMs: 50 };
  const ctx = new Ctx(env, s.wasm, s.layout, proto, {
    oracle: true,
    events: false,
    widen: false,
    seed: 1,
    dmaTids: [[1]],
    onViolation: () => {},
    fault: (p, w) => handleMmFault(ctx, p, w),
  });
  ctx.mmapReadLock();
  for (let p = 0; p < 16; p++) handleMmFault(ctx, p, true);
  ctx.mmapReadUnlock();
  ctx.range.setup(0, 16, true, true, 0, 0);
  if (proto.populate(ctx, ctx.subs[0], ctx.range) !== 'ok') throw new Error('populate failed');
  return s.wasm;
}

const time = (n, fn) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / n;
};
const wasms = {};
for (const [label, dist] of Object.entries(builds)) wasms[label] = await setup(dist);
const samples = {};
const add = (k, v) => (samples[k] ??= []).push(v);
for (let pass = 0; pass < passes; pass++)
  for (const [label, w] of Object.entries(wasms))
    for (const oracle of [1, 0]) {
      add(
        `${label} dma_access oracle ${oracle ? 'on ' : 'off'}`,
        time(300_000, (i) => w.dma_access(0, i & 15, i & 1, i, 1, oracle, 64)),
      );
      const r = w.range_addr(0);
      add(
        `${label} dev_program(16 pages) oracle ${oracle ? 'on ' : 'off'}`,
        time(100_000, () => w.dev_program(0, r, 0, oracle)),
      );
    }
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [k, v] of Object.entries(samples))
  console.log(`${k.padEnd(44)} ${median(v).toFixed(1).padStart(8)} ns  (${v.map((x) => x.toFixed(0)).join(', ')})`);
