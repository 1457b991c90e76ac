/** worker.ts — the piscina worker entry: load the protocol module (cached), run one role thread. */
import { importProtocol } from '../protocols/loader.js';
import type { MirrorProtocol } from '../protocols/api.js';
import { runRoleThread, type RoleTask, type RoleResult } from './thread.js';
export type { RoleTask, RoleResult } from './thread.js';

const protoCache = new Map<string, Promise<MirrorProtocol>>();

export default function runRole(task: RoleTask): Promise<RoleResult> {
  return runRoleThread(task, () => {
    let p = protoCache.get(task.protocolUrl);
    if (!p) protoCache.set(task.protocolUrl, (p = importProtocol(task.protocolUrl, task.protocolWhere)));
    return p;
  });
}
