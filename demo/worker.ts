/**
 * One role thread in a Web Worker: the same runRoleThread as Node's piscina worker
 * (src/run/thread.ts), with the protocol module imported statically instead of by URL.
 *
 * in:  { id, task: RoleTask, protocol: name }   (task.memory: the shared WebAssembly.Memory,
 *                                                 task.module: the compiled WebAssembly.Module)
 * out: { id, result: RoleResult } | { id, error: string }
 */
import { runRoleThread, type RoleTask } from '../src/run/thread.js';
import { getProtocol } from './protocols.js';

interface RunMsg {
  id: number;
  task: RoleTask;
  protocol: string;
}

self.onmessage = async (e: MessageEvent<RunMsg>) => {
  const { id, task, protocol } = e.data;
  try {
    const result = await runRoleThread(task, async () => getProtocol(protocol));
    (self as unknown as Worker).postMessage({ id, result });
  } catch (err) {
    (self as unknown as Worker).postMessage({ id, error: err instanceof Error ? `${err.message}` : String(err) });
  }
};
