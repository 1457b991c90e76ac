/**
 * call.ts — calling into a protocol: a throw from a protocol method becomes a PluginError that
 * names the protocol and the method (exit 3); the harness's own control flow passes through.
 */
import { Stopped, LockTimeout } from '../sync/env.js';
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

/**
 * Call a protocol method, naming it if it throws. Stopped/LockTimeout pass through. A thread's
 * operation hook (model/hooks.ts) sees the callback begin and end.
 */
export function callProto<T>(ctx: { proto: { name: string }; hook?: OpHook | null }, method: string, fn: () => T): T {
  const hook = ctx.hook ?? null;
  if (hook !== null) hook.enter(method);
  try {
    return fn();
  } catch (e) {
    if (e instanceof Stopped || e instanceof LockTimeout || e instanceof PluginError) throw e;
    throw new PluginError(ctx.proto.name, method, e);
  } finally {
    if (hook !== null) hook.exit();
  }
}
