/**
 * worker-pool.ts — the demo's Web Workers: one per role thread (demo/worker.ts runs the same
 * runRoleThread as Node's piscina worker), kept between runs.
 */
import type { RoleResult, RoleTask } from '../src/run/thread.js';

export class WorkerPool {
  private workers: (Worker | undefined)[] = [];
  private pending = new Map<number, (r: RoleResult | Error) => void>();
  private owner = new Map<number, number>(); // message id -> worker slot
  private nextId = 1;

  private spawn(slot: number): Worker {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: `hmmsim-${slot}` });
    worker.onmessage = (e: MessageEvent<{ id: number; result?: RoleResult; error?: string }>) => {
      const cb = this.pending.get(e.data.id);
      if (!cb) return;
      this.pending.delete(e.data.id);
      this.owner.delete(e.data.id);
      cb(e.data.error !== undefined ? new Error(e.data.error) : e.data.result!);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.failSlot(slot, `worker ${slot}: ${e.message || 'failed to load'}`);
    };
    worker.onmessageerror = () => this.failSlot(slot, `worker ${slot}: message could not be cloned`);
    this.workers[slot] = worker;
    return worker;
  }

  /** End every task running on `slot` with an error. */
  private failSlot(slot: number, message: string): void {
    for (const [id, s] of this.owner)
      if (s === slot) {
        const cb = this.pending.get(id);
        this.pending.delete(id);
        this.owner.delete(id);
        cb?.(new Error(message));
      }
  }

  /** Run one role thread on worker `slot`; resolves with its result, or the error that ended it. */
  run(slot: number, task: RoleTask, protocol: string): Promise<RoleResult | Error> {
    const worker = this.workers[slot] ?? this.spawn(slot);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.owner.set(id, slot);
      worker.postMessage({ id, task, protocol });
    });
  }

  /** A worker that did not stop: terminate it (its run is lost) and start afresh next time. */
  kill(slot: number): void {
    this.workers[slot]?.terminate();
    this.workers[slot] = undefined;
    this.failSlot(slot, `T${slot} did not stop and was terminated`);
  }

  /** Keep at most n workers. */
  trim(n: number): void {
    for (let i = n; i < this.workers.length; i++) this.workers[i]?.terminate();
    this.workers.length = Math.min(this.workers.length, n);
  }
}
