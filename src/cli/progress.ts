/**
 * cli/progress.ts — live progress while protocols run: ops/s, retries, violations so far, time
 * left. Drawn with cli-progress on stdout only when stdout is a TTY and --quiet is off;
 * otherwise every method is a no-op (nothing extra in pipes, files or CI logs).
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../api/types.js';
import { int } from './format.js';

export interface ProgressView {
  update(p: Progress): void;
  /** Clear the bar (before printing anything else). */
  stop(): void;
}

const NONE: ProgressView = { update() {}, stop() {} };

export function createProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream; opsTarget?: number }): ProgressView {
  const stream = opts.stream ?? process.stdout;
  if (opts.quiet || !stream.isTTY) return NONE;
  const byOps = opts.opsTarget !== undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{protocol} [{bar}] {percentage}% | {ops} ops | {rate} ops/s | retries {retries} | violations {violations} | {left}',
      barsize: 20,
      fps: 10,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let current: string | undefined;
  let width = 0;
  let active = false;
  return {
    update(p: Progress) {
      const total = byOps ? opts.opsTarget! : Math.max(1, p.durationMs);
      const value = Math.min(total, byOps ? p.ops : p.elapsedMs);
      const leftMs = Math.max(0, p.durationMs - p.elapsedMs);
      const payload = {
        protocol: p.protocol.padEnd((width = Math.max(width, p.protocol.length))),
        ops: int(p.ops),
        rate: int(p.opsPerSec),
        retries: int(p.retries),
        violations: int(p.violations),
        left: byOps ? `${int(Math.max(0, total - p.ops))} ops left` : `${(leftMs / 1000).toFixed(1)}s left`,
      };
      if (!active || p.protocol !== current) {
        if (active) bar.stop();
        bar.start(total, value, payload);
        current = p.protocol;
        active = true;
      } else {
        bar.update(value, payload);
      }
    },
    stop() {
      if (active) bar.stop();
      active = false;
    },
  };
}
