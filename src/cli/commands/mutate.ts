/**
 * mutate.ts — `hmmsim mutate`: mutation testing of one protocol (docs/mutation.md). Every
 * reached lock, release, read, write, wait, zap, fence, mmap lock and retry check is weakened in turn
 * under the same workload; the report says which weakenings hmmsim catches.
 */
import { Option, type Command } from 'commander';
import { randomInt } from 'node:crypto';
import { EVENT_NAMES } from '../../api/types.js';
import { ConfigError } from '../../api/errors.js';
import { LIMITS } from '../../config/limits.js';
import { resolveProtocols, specOf } from '../../config/protocols.js';
import { fmtMs, parseDuration, parseEvents, parseIntFlag, parseOutFile, toStressOptions, type StressFlags } from '../options.js';
import { loadRunner } from '../runner-api.js';
import { formatMs } from '../format.js';
import { formatMutationReport, mutationJUnit } from '../mutate-report.js';
import { writeReports } from '../report.js';
import { SEED_NOTE, io, type CommandState } from '../io.js';
import type { MutationReport } from '../../mutate/run.js';

interface MutateFlags extends Omit<StressFlags, 'protocol' | 'ops'> {
  protocol: string;
  jobs?: number;
  only?: string;
  minScore?: number;
}

export const MUTATE_EXIT_NOTE =
  'Exit codes: 0 every mutant judged (and the score at least --min-score); 1 the unmutated protocol\n' +
  'violated, or the score is below --min-score; 2 usage or config error; 3 a harness failure in some run.';

export function addMutateCommand(program: Command, state: CommandState): void {
  program
    .command('mutate')
    .description(
      'mutation testing: weaken each lock, release, read, write, wait, zap, fence, mmap lock and retry check the protocol reaches, ' +
        'one at a time, under the same workload; report which mutants hmmsim kills and the mutation score',
    )
    .requiredOption('-p, --protocol <spec>', 'one built-in name or a path to a plugin module (./x.mjs)')
    .addOption(
      new Option('-d, --duration <time>', 'run each mutant (and the discovery run) at most this long (default 3s)').argParser((v) =>
        parseDuration(v, 'duration'),
      ),
    )
    .addOption(
      new Option('-s, --seed <n>', `seed for the workload, the same for every mutant (default: random, printed)`).argParser(
        parseIntFlag('seed', LIMITS.seed.min, LIMITS.seed.max),
      ),
    )
    .addOption(
      new Option(
        '-e, --events <list>',
        `invalidation events to mix: ${EVENT_NAMES.join(',')} (default: the default mix with oom 4 in 10, plus interval where the protocol can remove subscriptions)`,
      ).argParser(parseEvents),
    )
    .addOption(
      new Option(
        '-t, --threads <n>',
        'worker threads per mutant run, roles dealt round-robin (default 6: 2 invalidators, 2 drivers, 1 DMA, 1 CPU)',
      ).argParser(parseIntFlag('threads', LIMITS.threads.min, LIMITS.threads.max, 1, ' (every role needs a thread)')),
    )
    .addOption(
      new Option('--pages <n>', 'virtual pages, a multiple of 64 (default 256)').argParser(
        parseIntFlag('pages', LIMITS.pages.min, LIMITS.pages.max, LIMITS.pages.multipleOf),
      ),
    )
    .addOption(
      new Option('--jobs <n>', 'mutants run at once (default: cores / threads, at least 1)').argParser(parseIntFlag('jobs', 1, 64)),
    )
    .addOption(
      new Option('--watchdog <time>', 'no progress by a thread for this long is a deadlock or stall (default 2s)').argParser((v) =>
        parseDuration(v, 'watchdog', LIMITS.watchdogMs.min, LIMITS.watchdogMs.max),
      ),
    )
    .option('--only <text>', 'run only the mutants whose description contains this text (e.g. populate, skip-lock)')
    .addOption(
      new Option('--min-score <pct>', 'exit 1 when the mutation score is below this percentage').argParser(
        parseIntFlag('min-score', 0, 100),
      ),
    )
    .option('--no-widen', 'no seeded tiny delays at ctx calls and at the mutated operation')
    .addOption(new Option('--json <file>', 'write the JSON report here (atomically)').argParser(parseOutFile('--json')))
    .addOption(new Option('--junit <file>', 'write a JUnit XML report here (one testcase per mutant)').argParser(parseOutFile('--junit')))
    .option('-q, --quiet', 'no line per mutant while running (the table is still printed)')
    .addHelpText(
      'after',
      `
Outcome per mutant: killed (a violation, or a lock wait that timed out), survived (a clean run:
the operation is redundant, or the workload never opened its window; the coverage line tells
which), equivalent (a survivor an equivalence rule recognised from its run: never differed, or
retry only), error (the harness failed). Score = killed / (killed + survived). Unless --threads is
given, each run has 6 threads: 2 invalidators, 2 drivers, 1 DMA, 1 CPU. See docs/mutation.md.

${MUTATE_EXIT_NOTE}

${SEED_NOTE}`,
    )
    .action(async (flags: MutateFlags) => {
      const runner = await loadRunner();
      const builtins = (await runner.listProtocols()).map((p) => p.name);
      if (flags.protocol.includes(','))
        throw new ConfigError(`mutate takes one protocol (got ${flags.protocol}): run one mutate per protocol`);
      const [resolved] = resolveProtocols([flags.protocol], builtins);
      const protocol = specOf(resolved);
      if (resolved.kind === 'all') throw new ConfigError('mutate takes one protocol, not all: run one mutate per protocol');
      const base = toStressOptions({ ...flags, protocol: [protocol] }, [protocol]);
      const seed = base.seed ?? randomInt(0, 2 ** 32);
      const { mutate } = await import('../../mutate/run.js');
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.on('SIGINT', onSigint);
      let report: MutationReport;
      try {
        report = await mutate({
          ...base,
          protocol,
          seed,
          jobs: flags.jobs,
          only: flags.only,
          signal: ac.signal,
          onDiscovered: (b) => {
            if (flags.quiet) return;
            io.err(`hmmsim mutate ${protocol}, seed ${seed}: ${b.sites.length} sites reached by the unmutated run (verdict ${b.verdict})`);
          },
          onMutant: (m, done, total) => {
            const at = m.killMs !== null ? ` (${formatMs(m.killMs)})` : '';
            if (!flags.quiet) io.err(`  [${done}/${total}] ${m.outcome.padEnd(8)} ${m.description}${at}`);
          },
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      io.out(formatMutationReport(report));
      const d = flags.duration !== undefined ? ` --duration ${fmtMs(flags.duration)}` : '';
      const rerun = `hmmsim mutate --protocol ${flags.protocol}${d} --seed ${report.seed}`;
      io.out(`\nseed ${report.seed}, ${report.jobs} at once, ${formatMs(report.wallMs)} in all (rerun: ${rerun})`);
      let code = report.baseline.verdict === 'fail' ? 1 : 0;
      if (flags.minScore !== undefined && (report.score ?? 0) * 100 < flags.minScore) code = Math.max(code, 1);
      if (report.errors > 0) code = 3;
      const written = writeReports(
        [
          [flags.json, () => JSON.stringify(report, null, 2) + '\n'],
          [flags.junit, () => mutationJUnit(report)],
        ],
        io.err,
      );
      if (!written) code = 3;
      if (ac.signal.aborted && code === 0) code = 130;
      state.code = code;
    });
}
