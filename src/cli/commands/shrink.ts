/**
 * shrink.ts — `hmmsim shrink <report.json> [--index i] [--out FILE]`: delta-debug a failing
 * schedule's switches while the same violation kind still occurs; write the minimal schedule as
 * a report (replayable with hmmsim replay) and print its witness.
 */
import { Option, type Command } from 'commander';
import { parseIntFlag, parseOutFile } from '../options.js';
import { io, type CommandState } from '../io.js';
import { writeFileAtomic } from '../report.js';
import { ConfigError } from '../../api/errors.js';
import { DEMO_BASE, demoUrl, parseDemoBase } from '../demo-url.js';

export function addShrinkCommand(program: Command, state: CommandState): void {
  program
    .command('shrink')
    .description('shrink a failing controlled-mode schedule to the fewest context switches that still give the same violation kind')
    .argument('<report>', 'a JSON report written by hmmsim stress --mode controlled --json')
    .addOption(
      new Option('-i, --index <i>', 'which schedule of the report (0-based; default 0)').argParser(parseIntFlag('index', 0, 1_000_000)),
    )
    .addOption(
      new Option('-o, --out <file>', 'where to write the shrunk schedule (default: <report>.shrunk.json)').argParser(parseOutFile('--out')),
    )
    .addOption(new Option('--max-runs <n>', 'replays to try at most (default 400)').argParser(parseIntFlag('max-runs', 1, 100_000)))
    .addOption(
      new Option(
        '--demo-url [base]',
        `also print a link that opens the shrunk schedule in the browser demo (default base ${DEMO_BASE})`,
      ).argParser(parseDemoBase),
    )
    .action(async (path: string, flags: { index?: number; out?: string; maxRuns?: number; demoUrl?: string | true }) => {
      const { loadFailures, readReport } = await import('../../schedule/replay.js');
      const { shrink } = await import('../../schedule/shrink.js');
      const failures = loadFailures(path);
      const index = flags.index ?? 0;
      if (index >= failures.length)
        throw new ConfigError(
          `--index ${index} is out of range: the report holds ${failures.length} schedule(s), 0..${failures.length - 1}`,
        );
      const f = failures[index];
      const r = await shrink(f, { maxRuns: flags.maxRuns, onStep: (n, runs) => io.err(`  ${n} switches after ${runs} replays`) });
      const out = flags.out ?? path.replace(/\.json$/, '') + '.shrunk.json';
      const report = readReport(path);
      const p =
        report.protocols.find((x) => x.witnesses?.some((w) => w.schedule === undefined || w.text === f.witness.text)) ??
        report.protocols[0];
      const entry = {
        version: report.version,
        seed: r.schedule.seed,
        config: report.config,
        protocols: [{ name: p.name, expect: p.expect, witnesses: [r.witness] }],
      };
      writeFileAtomic(out, JSON.stringify(entry, null, 2) + '\n');
      io.out(r.witness.text.replace('<this report>', out));
      io.out(
        `\nshrunk ${r.switchesBefore} -> ${r.switchesAfter} context switches (${r.witness.events.length} witness events) in ${r.runs} replays; written to ${out}`,
      );
      io.out(`replay: hmmsim replay ${out}`);
      if (flags.demoUrl) io.out(`demo: ${demoUrl(r.schedule, flags.demoUrl)}`);
      state.code = 0;
    });
}
