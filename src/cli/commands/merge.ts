/**
 * merge.ts — `hmmsim merge`: shard reports of one campaign combined into one report
 * (cli/merge.ts does the work; docs/campaigns.md).
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../../api/errors.js';
import { parseOutFile } from '../options.js';
import { EXIT_NOTE, io, type CommandState } from '../io.js';
import { exitCodeFor, formatVerdictTable } from '../format.js';
import { toJUnit, writeFileAtomic } from '../report.js';
import { toHtml } from '../html.js';

interface MergeFlags {
  json?: string;
  junit?: string;
  html?: string;
  allowPartial?: boolean;
}

export function addMergeCommand(program: Command, state: CommandState): void {
  program
    .command('merge')
    .description(
      "merge the JSON reports of a campaign's shards (hmmsim stress --shard i/N --json F): checks they are one campaign, " +
        'sums ops and coverage, deduplicates violations by witness shape, bounds the violation rate of clean protocols',
    )
    .argument('<inputs...>', 'shard report files, or directories holding them (every *.json inside)')
    .addOption(new Option('--json <file>', 'write the merged JSON report here (atomically)').argParser(parseOutFile('--json')))
    .addOption(new Option('--junit <file>', 'write a JUnit XML report here (atomically)').argParser(parseOutFile('--junit')))
    .addOption(new Option('--html <file>', 'write a self-contained HTML report here (atomically)').argParser(parseOutFile('--html')))
    .option('--allow-partial', 'merge even when shards are missing (they are named in the report)')
    .addHelpText(
      'after',
      `
Files from two campaigns, from different hmmsim versions, a shard given twice, a truncated file,
or (without --allow-partial) a missing shard: one line on stderr, exit 2, and no file is written.

${EXIT_NOTE}`,
    )
    .action(async (inputs: string[], flags: MergeFlags) => {
      const { asRunResult, checkShards, expandInputs, formatMergeNotes, mergeShards, readShard } = await import('../merge.js');
      const outs = [flags.json, flags.junit, flags.html].filter((f) => f !== undefined);
      if (new Set(outs).size !== outs.length) throw new ConfigError('--json, --junit and --html must name different files');
      const files = expandInputs(inputs).filter((f) => !outs.includes(f));
      const shards = files.map(readShard);
      const missing = checkShards(shards);
      const c = shards[0].report.campaign;
      if (missing.length && !flags.allowPartial)
        throw new ConfigError(
          `campaign ${c.id} is missing shard${missing.length === 1 ? '' : 's'} ` +
            `${missing.map((i) => `${i}/${c.shard.count}`).join(', ')}: ` +
            'give every shard, or --allow-partial to merge these',
        );
      const merged = mergeShards(shards, missing);
      const result = asRunResult(merged);
      // everything rendered before anything is written: a failure leaves every output as it was
      const rendered: [string | undefined, string][] = [
        [flags.json, flags.json ? JSON.stringify(merged, null, 2) + '\n' : ''],
        [flags.junit, flags.junit ? toJUnit(result) : ''],
        [flags.html, flags.html ? toHtml(merged) : ''],
      ];
      state.code = exitCodeFor(result);
      if (result.protocols.length > 0) io.out(formatVerdictTable(result));
      io.out(`\n${formatMergeNotes(merged)}`);
      for (const [file, text] of rendered) {
        if (!file) continue;
        try {
          writeFileAtomic(file, text);
        } catch (err) {
          io.err(`hmmsim: cannot write ${file}: ${(err as Error).message}`);
          state.code = 3;
        }
      }
    });
}
