/**
 * call.ts — calling into a protocol: a throw from a protocol method becomes a PluginError that
 * names the protocol and the method (exit 3); the harness's own control flow passes through.
 */
import { Stopped, LockTimeout } from '../sync/env.js';

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

/** Call a protocol method, naming it if it throws. Stopped/LockTimeout pass through. */
export function callProto<T>(ctx: { proto: { name: string } }, method: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Stopped || e instanceof LockTimeout || e instanceof PluginError) throw e;
    throw new PluginError(ctx.proto.name, method, e);
  }
}
