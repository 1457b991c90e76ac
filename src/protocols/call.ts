/**
 * call.ts — calling into a protocol: a throw from a protocol method becomes a PluginError that
 * names the protocol and the method (exit 3); the harness's own control flow passes through.
 */
import { Stopped, LockTimeout } from '../sync/env.js';
import { L } from '../memory/layout.js';
import type { OpHook } from '../model/hooks.js';

/** A protocol method threw something that is not the harness's own control flow. */
export class PluginError extends Error {
  constructor(
    readonly protocol: string,
    readonly method: string,
    readonly cause: unknown,
  ) {
    super(`protocol ${protocol}: ${method}() threw: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PluginError';
    if (cause instanceof Error && cause.stack) this.stack = `${this.name}: ${this.message}\n${cause.stack}`;
  }
}

/** The callbacks a thread can be inside (its record's T_CALLBACK: index + 1), for liveness and crash reports. */
export const CALLBACKS = [
  'invalidateStart',
  'invalidateEnd',
  'populate',
  'subscriptionRemove',
  'subscriptionAdd',
  'init',
  'intervalRemove',
  'intervalInsert',
  'release',
  'invalidateRange',
] as const;

/** The callback named by a T_CALLBACK word, or '' for none. */
export const callbackName = (word: number): string => {
  const index = word & L.CALLBACK_INDEX_MASK;
  return index > 0 ? (CALLBACKS[index - 1] ?? '') : '';
};

/** This thread's protocol calls so far (each worker is its own isolate): one call from the next. */
let calls = 0;
const CALL_NUMBER_MASK = 0xffffff;

/** Start this thread's call numbers over (a controlled-mode worker, before each schedule: as in a fresh thread). */
export function resetCallNumbers(): void {
  calls = 0;
}

interface CallCtx {
  proto: { name: string };
  hook?: OpHook | null;
  env?: { i32: Int32Array; tid: number };
  layout?: { threadsBase: number };
}

/**
 * Call a protocol method, naming it if it throws, and recording in the thread's record which
 * callback it is in while it runs. Stopped/LockTimeout pass through. A thread's operation hook
 * (model/hooks.ts) sees the callback begin and end.
 */
export function callProto<T>(ctx: CallCtx, method: string, fn: () => T): T {
  const at = ctx.env && ctx.layout ? (ctx.layout.threadsBase + ctx.env.tid * L.THREAD_SIZE + L.T_CALLBACK) >> 2 : -1;
  calls = (calls + 1) & CALL_NUMBER_MASK;
  const word = (calls << L.CALLBACK_CALL_SHIFT) | (CALLBACKS.indexOf(method as (typeof CALLBACKS)[number]) + 1);
  const outer = at >= 0 ? Atomics.exchange(ctx.env!.i32, at, word) : 0;
  const hook = ctx.hook ?? null;
  if (hook !== null) hook.enter(method);
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } catch (e) {
    if (e instanceof Stopped || e instanceof LockTimeout || e instanceof PluginError) throw e;
    throw new PluginError(ctx.proto.name, method, e);
  } finally {
    if (hook !== null) hook.exit(result);
    if (at >= 0) Atomics.store(ctx.env!.i32, at, outer);
  }
}
