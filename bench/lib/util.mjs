/** util.mjs — statistics, machine description, atomic file writes, shared-memory setup. */
import os from 'node:os';
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { computeLayout } from '../../dist/memory/layout.js';
import { createRunMemory } from '../../dist/memory/header.js';
import { loadModule } from '../../dist/memory/wasm-node.js';

export const sorted = (xs) => [...xs].sort((a, b) => a - b);

/** Linear-interpolated quantile of numbers (q in [0,1]); null for an empty list. */
export function quantile(xs, q) {
  if (!xs.length) return null;
  const s = sorted(xs);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
export const median = (xs) => quantile(xs, 0.5);

/** Round to `d` significant-ish decimals for JSON/table output. */
export function r(x, d = 3) {
  if (x == null || !Number.isFinite(x)) return x ?? null;
  const m = 10 ** d;
  return Math.round(x * m) / m;
}

export function ratio(a, b) {
  return a != null && b != null && b > 0 ? a / b : null;
}

export function machine() {
  const cpus = os.cpus();
  let model = cpus[0]?.model?.trim() || 'unknown';
  try {
    const ci = readFileSync('/proc/cpuinfo', 'utf8');
    const m = ci.match(/^model name\s*:\s*(.+)$/m);
    if (m) model = m[1].trim();
  } catch {}
  return {
    cpuModel: model,
    cores: os.availableParallelism ? os.availableParallelism() : cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Write a file atomically: temp file in the same directory, then rename over the target. */
export function writeAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * A shared memory with an hmmsim header and one Wasm instance on it (main thread), like
 * test/helpers.ts testMemory(). `flags`: header flags (bit 0 oracle, bit 1 events).
 */
export function benchMemory(over = {}, flags = 0) {
  const lay = computeLayout({
    pages: 256,
    devices: 1,
    subsPerDevice: 4,
    threads: 4,
    rangeMax: 64,
    ringEntries: 256,
    protoMmLines: 8,
    protoSubLines: 4,
    protoRangeLines: 2,
    ...over,
  });
  const module = loadModule();
  const { memory, i32, wasm: w } = createRunMemory(lay, flags, module);
  return { lay, memory, module, i32, w };
}

/** A sync env for the Mutex/RwSem/... classes (src/sync) on thread `tid`. */
export function syncEnv(i32, w, tid) {
  return { i32, wasm: w, tid, lockTimeoutMs: 10_000, sliceMs: 100 };
}

export function fmtNs(ns) {
  if (ns == null) return '—';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns >= 100) return `${ns.toFixed(0)} ns`;
  return `${ns.toFixed(2)} ns`;
}
export const fmtX = (x) => (x == null ? '—' : `${x.toFixed(2)}x`);
export function fmtNum(x) {
  if (x == null) return '—';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(x >= 10 ? 0 : 1);
}

/** Plain text table: rows of cells; first row is the header. */
export function table(rows) {
  const w = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c] ?? '').length)));
  const line = (row) => row.map((cell, c) => (c === 0 ? String(cell ?? '').padEnd(w[c]) : String(cell ?? '').padStart(w[c]))).join('  ');
  return [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
