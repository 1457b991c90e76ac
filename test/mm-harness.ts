/**
 * A single-threaded model on one shared memory, for deterministic tests: a Session (memory,
 * mm and protocol state) plus a Ctx on thread 0 that plays driver, CPU and invalidator in turn,
 * and thread 1 as the device's DMA engine.
 */
import { Session } from '../dist/run/session.js';
import { Ctx } from '../dist/model/ctx.js';
import { importProtocol } from '../dist/protocols/loader.js';
import { builtinUrl } from '../dist/protocols/builtin.js';
import { loadModule } from '../dist/memory/wasm-node.js';
import { handleMmFault } from '../dist/model/mm/fault.js';
import { L } from '../dist/memory/layout.js';

export interface Harness {
  s: Session;
  ctx: Ctx;
  violations: number[];
  /** CPU: fault `page` in and write `value` / read it. */
  cpuWrite(page: number, value: number): void;
  cpuRead(page: number): number;
  /** Driver: one device fault on [start, end) through the protocol, retried until done. */
  deviceFault(start: number, end: number, write: boolean): 'ok' | number;
  /** DMA (thread 1) read / write of one word; returns dma_access's code. */
  dma(page: number, write?: number): number;
  devRead(page: number): number;
}

export async function harness(protocol: string, pages = 256): Promise<Harness> {
  const proto = await importProtocol(builtinUrl(protocol), protocol);
  const s = new Session({
    proto,
    protocolUrl: '',
    protocolWhere: protocol,
    module: loadModule(),
    layout: {
      pages,
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
    recordEvents: true,
    widen: false,
    stopOnViolation: false,
    lockTimeoutMs: 2000,
    sliceMs: 50,
  });
  const violations: number[] = [];
  const env = { i32: s.i32, wasm: s.wasm, tid: 0, lockTimeoutMs: 2000, sliceMs: 50 };
  const ctx: Ctx = new Ctx(env, s.wasm, s.layout, proto, {
    oracle: true,
    events: true,
    widen: false,
    seed: 1,
    dmaTids: [[1]],
    onViolation: (r: number) => violations.push(-r - 1),
    fault: (page: number, write: boolean) => handleMmFault(ctx, page, write),
  });
  const w = s.wasm;
  const h: Harness = {
    s,
    ctx,
    violations,
    cpuWrite(page, value) {
      ctx.mmapReadLock();
      try {
        const r = handleMmFault(ctx, page, true);
        if (r) throw new Error(`cpu write fault at ${page}: ${r}`);
        w.cpu_access(page, 1, value);
      } finally {
        ctx.mmapReadUnlock();
      }
    },
    cpuRead(page) {
      ctx.mmapReadLock();
      try {
        const r = handleMmFault(ctx, page, false);
        if (r) throw new Error(`cpu read fault at ${page}: ${r}`);
        return w.cpu_access(page, 0, 0);
      } finally {
        ctx.mmapReadUnlock();
      }
    },
    deviceFault(start, end, write) {
      const sub = ctx.subs.find((x) => x.start <= start && end <= x.end)!;
      ctx.range.setup(start, end, write, true, sub.id, 0);
      for (let i = 0; i < 100; i++) {
        const r = proto.populate(ctx, sub, ctx.range);
        if (r !== 'retry') return r as 'ok' | number;
      }
      throw new Error('populate kept retrying');
    },
    dma(page, write) {
      return w.dma_access(0, page, write === undefined ? 0 : 1, write ?? 0, 1, 1, 1);
    },
    devRead(page) {
      return w.dev_peek(0, page);
    },
  };
  return h;
}

export { L };
