/**
 * replay.ts — `hmmsim replay <report.json | DIR> [--index i]`: run recorded controlled-mode
 * schedules again. A report's schedules must reproduce the same violation with the same witness,
 * byte for byte; a corpus directory's must still match their protocol's expectation.
 */
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parseIntFlag } from '../options.js';
import { io, type CommandState } from '../io.js';
import { DEMO_BASE, demoUrl, parseDemoBase } from '../demo-url.js';

export function addReplayCommand(program: Command, state: CommandState): void {
  program
    .command('replay')
    .description(
      'replay the schedules of a controlled-mode report (stress --mode controlled --json) or of every report in a corpus directory',
    )
    .argument('<report>', 'a JSON report written by hmmsim stress --mode controlled --json, or a directory of them (--save-failures)')
    .addOption(
      new Option('-i, --index <i>', 'only the i-th schedule of the report (0-based, as printed by stress)').argParser(
        parseIntFlag('index', 0, 1_000_000),
      ),
    )
    .option('-q, --quiet', 'one line per schedule, no witness')
    .addOption(
      new Option(
        '--demo-url [base]',
        `also print a link that opens each schedule in the browser demo (default base ${DEMO_BASE})`,
      ).argParser(parseDemoBase),
    )
    .addHelpText(
      'after',
      `
A report's schedules must reproduce their violation and witness byte for byte (exit 1 if not,
saying where a replay diverged). A directory is a regression corpus: exit 1 when a protocol
expected to violate no longer does, or one expected sound violates. A schedule recorded by another
hmmsim version, or whose protocol file changed, is refused (exit 2).`,
    )
    .action(async (path: string, flags: { index?: number; quiet?: boolean; demoUrl?: string | true }) => {
      const { replay, loadFailures } = await import('../../schedule/replay.js');
      const corpus = statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
      const results = await replay(path, { index: flags.index, corpus });
      const stored = flags.demoUrl ? loadFailures(path) : [];
      let bad = 0;
      for (const [i, r] of results.entries()) {
        const good = corpus ? r.ok : r.identical;
        if (!good) bad++;
        const what = r.divergence
          ? `DIVERGED at step ${r.divergence.step}: ${r.divergence.thread >= 0 ? `the schedule names T${r.divergence.thread}, which cannot run there` : 'the running thread blocks where the schedule has no switch'}`
          : r.kind
            ? `${r.kind}${r.identical ? ', same witness' : r.kind === r.recordedKind ? ', witness differs' : ` (recorded ${r.recordedKind})`}`
            : `no violation (recorded ${r.recordedKind})`;
        const lenient =
          r.lenientAfterDivergence !== undefined
            ? ` (strict replay diverged at step ${r.lenientAfterDivergence}: hmmsim changed under it; judged on a lenient replay, npm run corpus records it again)`
            : '';
        io.out(`${good ? 'ok  ' : 'FAIL'} ${r.where} ${r.protocol}: ${what}${lenient}`);
        if (flags.demoUrl) io.out(`demo: ${demoUrl(stored[flags.index ?? i].schedule, flags.demoUrl)}`);
        if (!flags.quiet && !corpus && r.witness) io.out(`${r.witness.text}\n`);
      }
      io.out(
        `${results.length} schedule(s) replayed: ${results.length - bad} ${corpus ? 'as expected' : 'reproduced exactly'}${bad ? `, ${bad} not` : ''}`,
      );
      state.code = bad ? 1 : 0;
    });
}
