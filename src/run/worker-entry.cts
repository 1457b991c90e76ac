/**
 * worker-entry.cts — the file piscina loads. piscina require()s its worker file, and on Node
 * >= 20.19 that would load our ES-module worker through require(esm); a later import() of a
 * module in that graph (a protocol module) can then hit a Node bug ("Unexpected status of a
 * module that is imported again after being required"). This CommonJS shim import()s the
 * worker instead, so every module of a worker thread goes through the ESM loader alone.
 */
import type { RoleTask, RoleResult } from './worker.js';

let worker: Promise<{ default: (task: RoleTask) => Promise<RoleResult | number> }> | undefined;

module.exports = async function runRole(task: RoleTask): Promise<RoleResult | number> {
  worker ??= import('./worker.js');
  return (await worker).default(task);
};
