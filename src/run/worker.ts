/**
 * worker.ts — the piscina worker entry: load the protocol module (cached), run one role thread,
 * or (controlled mode, a task with `serve`) serve schedule after schedule (schedule/serve.ts).
 */
import { importProtocol } from '../protocols/loader.js';
import type { MirrorProtocol } from '../protocols/api.js';
import { serveSchedules, type ServeTask } from '../schedule/serve.js';
import { runRoleThread, type RoleTask, type RoleResult } from './thread.js';
import { L, addr, computeLayout } from '../memory/layout.js';
import { osThreadId } from './schedstat.js';
export type { RoleTask, RoleResult } from './thread.js';

const protoCache = new Map<string, Promise<MirrorProtocol>>();
const osTid = osThreadId();

export default function runRole(task: RoleTask & { serve?: ServeTask }): Promise<RoleResult | number> {
  // which OS thread runs this role: the watchdog reads its scheduling (schedstat.ts)
  const record = addr.thread(computeLayout(task.layout), task.tid);
  Atomics.store(new Int32Array(task.memory.buffer), (record + L.T_OS_TID) >> 2, osTid);
  const loadProto = () => {
    let p = protoCache.get(task.protocolUrl);
    if (!p) protoCache.set(task.protocolUrl, (p = importProtocol(task.protocolUrl, task.protocolWhere)));
    return p;
  };
  const serve = task.serve;
  return serve ? serveSchedules({ ...task, serve }, loadProto) : runRoleThread(task, loadProto);
}
