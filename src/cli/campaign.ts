/**
 * campaign.ts — run protocols, show progress, print the verdict table and witnesses, write the
 * reports: what the default campaign and `stress` share.
 */
import { randomInt } from 'node:crypto';
import { VERSION } from '../api/version.js';
import type { RunResult, StressOptions } from '../api/types.js';
import { exitCodeFor, formatErrors, formatSummary, formatVerdictTable, formatWitnesses } from './format.js';
import { toJUnit, toJsonReport, writeFileAtomic } from './report.js';
import { createProgress } from './progress.js';
import type { RunnerApi } from './runner-api.js';
import { io } from './io.js';

export interface CampaignOut {
  quiet: boolean;
  json?: string;
  junit?: string;
  opsTarget?: number;
  rerun: string;
  /** Lines to print after the witnesses (controlled mode: how to replay them); may write files too. */
  after?: (result: RunResult) => string[];
}

/** Run, show progress, print the table and witnesses, write the reports; resolves to the exit code. */
export async function campaign(runner: RunnerApi, base: StressOptions, out: CampaignOut): Promise<number> {
  const seed = base.seed ?? randomInt(0, 2 ** 32);
  const progress = createProgress({ quiet: out.quiet, opsTarget: out.opsTarget });
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      progress.stop();
      io.err('hmmsim: stopping (Ctrl-C again to quit at once)');
      ac.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  if (process.stdout.isTTY && !out.quiet) {
    const what = Array.isArray(base.protocol) ? base.protocol.join(', ') : base.protocol;
    io.out(`hmmsim ${VERSION}: protocol ${what}, seed ${seed}`);
  }
  let result: RunResult;
  try {
    result = await runner.runStress({ ...base, seed, onProgress: (p) => progress.update(p), signal: ac.signal });
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
  }

  let code: number = exitCodeFor(result);
  process.exitCode = code; // what a closed stdout pipe (EPIPE) exits with
  io.out(formatVerdictTable(result));
  const witnesses = formatWitnesses(result);
  if (witnesses) io.out(`\n${witnesses}`);
  const errors = formatErrors(result);
  if (errors) io.err(`\n${errors}`);
  if (out.after) {
    try {
      const lines = out.after(result);
      if (lines.length) io.out(`\n${lines.join('\n')}`);
    } catch (err) {
      io.err(`hmmsim: ${(err as Error).message}`);
      code = 3;
    }
  }
  io.out(`\n${formatSummary(result, out.rerun)}`);

  for (const [file, render] of [
    [out.json, () => JSON.stringify(toJsonReport(result), null, 2) + '\n'],
    [out.junit, () => toJUnit(result)],
  ] as const) {
    if (!file) continue;
    try {
      writeFileAtomic(file, render());
    } catch (err) {
      io.err(`hmmsim: cannot write ${file}: ${(err as Error).message}`);
      code = 3;
    }
  }
  if (ac.signal.aborted && code === 0) code = 130;
  return code;
}
