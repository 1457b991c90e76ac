/**
 * Test helpers: one shared memory with a header, and a thread env on it (main thread). Like
 * mm-harness.ts they use the built code in ../dist (CONTRIBUTING.md, "Tests": which tree a test imports).
 */
import { computeLayout, type LayoutConfig, type Layout } from '../dist/memory/layout.js';
import { HEADER_FLAG, createRunMemory } from '../dist/memory/header.js';
import type { HmmWasm } from '../dist/memory/wasm.js';
import { loadModule } from '../dist/memory/wasm-node.js';
import type { SyncEnv } from '../dist/sync/env.js';

export interface TestMem {
  layout: Layout;
  memory: WebAssembly.Memory;
  i32: Int32Array;
  wasm: HmmWasm;
  env: SyncEnv;
}

export function testMemory(over: Partial<LayoutConfig> = {}): TestMem {
  const layout = computeLayout({
    pages: 256,
    devices: 1,
    subsPerDevice: 4,
    threads: 8,
    rangeMax: 64,
    ringEntries: 256,
    protoMmLines: 8,
    protoSubLines: 4,
    protoRangeLines: 2,
    ...over,
  });
  const { memory, i32, wasm } = createRunMemory(layout, HEADER_FLAG.oracle | HEADER_FLAG.events, loadModule());
  const env: SyncEnv = { i32, wasm, tid: 0, lockTimeoutMs: 5000, sliceMs: 50 };
  return { layout, memory, i32, wasm, env };
}
