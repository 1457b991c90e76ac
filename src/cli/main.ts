/**
 * main.ts — the hmmsim command line: `hmmsim` (the default campaign) and the commands in
 * commands/ (`stress`, `list`), each registered below.
 *
 * Exit codes: 0 every verdict as expected; 1 some verdict differs from its expectation;
 * 2 usage or config error (one line on stderr, no stack); 3 harness failure (error and stack).
 * See docs/cli.md.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../api/errors.js';
import type { StressOptions } from '../api/types.js';
import { VERSION } from '../api/version.js';
import { fmtMs } from './options.js';
import { loadRunner } from './runner-api.js';
import { campaign } from './campaign.js';
import { EXIT_NOTE, SEED_NOTE, io, isConfigError, oneLine, type CommandState } from './io.js';
import { addListCommand } from './commands/list.js';
import { addCampaignOptions, campaignArgs, seedOption, type CampaignFlags } from './commands/campaign-options.js';
import { addStressCommand } from './commands/stress.js';
import { ALL_PROTOCOLS } from '../protocols/builtin.js';
import { addReplayCommand } from './commands/replay.js';
import { addShrinkCommand } from './commands/shrink.js';
import { addMutateCommand } from './commands/mutate.js';
import { addMergeCommand } from './commands/merge.js';

/** The default campaign: about this long per protocol, and at most this long in all. */
export const CAMPAIGN_MS_EACH = 2000;
export const CAMPAIGN_MS_TOTAL = 20_000;

/** Entry point used by bin/hmmsim.js: runs, flushes, exits with the code. */
export async function main(argv: string[]): Promise<void> {
  // `hmmsim | head`: a closed pipe is not an error worth a stack
  for (const s of [process.stdout, process.stderr])
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  const code = await run(argv);
  process.exitCode = code;
  await flush();
  process.exit(code);
}

function flush(): Promise<void> {
  const one = (s: NodeJS.WriteStream) => new Promise<void>((res) => (s.writableLength === 0 ? res() : s.write('', () => res())));
  return Promise.all([one(process.stdout), one(process.stderr)]).then(() => undefined);
}

/** Parse `argv` (without node and the script) and do it; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const state = { code: 0 };
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.code;
  } catch (err) {
    return handleError(err);
  }
}

function handleError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander has already written its message (one line, through outputError below) or the help
    return err.exitCode === 0 ? 0 : 2;
  }
  if (isConfigError(err)) {
    io.err(`hmmsim: ${oneLine((err as Error).message)}`);
    return 2;
  }
  if (err instanceof Error && err.name === 'AbortError') {
    io.err('hmmsim: interrupted');
    return 130;
  }
  io.err(`hmmsim: internal error (harness failure)`);
  io.err(err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err));
  return 3;
}

/** The default campaign's flags. */
type DefaultFlags = CampaignFlags;

function buildProgram(state: CommandState): Command {
  const program = new Command('hmmsim');
  addCampaignOptions(program, 'the default campaign');
  program
    .description(
      'A race lab for page-table-mirroring protocols (HMM, ODP, mmu_interval_notifier, KVM): CPU, invalidator, ' +
        'driver and DMA roles run truly in parallel on shared WebAssembly memory while an oracle watches for ' +
        'stale device mappings.\n\nWith no command: the default campaign, every built-in protocol for about ' +
        '2 s with the default event mix, then a verdict table and the first witness of each protocol that violated.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`hmmsim: ${oneLine(str.replace(/^error: /, ''))}\n`),
    })
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .addOption(seedOption())
    .argument('[command]')
    .usage('[options] [command]')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText(
      'after',
      `
Examples:
  hmmsim                                      default campaign, every built-in protocol
  hmmsim --shard 2/4 --seed 7 --json s2.json  shard 2 of 4 of the default campaign (docs/campaigns.md)
  hmmsim merge shards/ --html campaign.html   merge the shards' JSON reports, one HTML report
  hmmsim list                                 the built-in protocols and what each is expected to do
  hmmsim stress --protocol all --duration 5s --json report.json --junit junit.xml
  hmmsim stress --protocol ./my-driver.mjs --events migrate,reclaim --seed 42
  hmmsim stress --mode controlled --protocol hmm-v5.2 --schedules 100 --json r.json
  hmmsim replay r.json --index 0              the same violation and witness, every time
  hmmsim shrink r.json                        the fewest context switches that still fail
  hmmsim mutate --protocol interval-v5.5 --duration 3s --json mutants.json

${EXIT_NOTE}

${SEED_NOTE}

Run \`hmmsim <command> --help\` for a command's flags; docs/cli.md has the report formats.`,
    )
    .action(async (command: string | undefined, flags: DefaultFlags) => {
      if (command !== undefined) {
        program.error(`unknown command '${command}': commands are stress, replay, shrink, mutate, list, merge, help (see hmmsim --help)`, {
          exitCode: 2,
          code: 'hmmsim.unknownCommand',
        });
      }
      const runner = await loadRunner();
      const builtins = await runner.listProtocols();
      const inAll = builtins.filter((p) => (ALL_PROTOCOLS as string[]).includes(p.name)).length; // `all` leaves out history/
      const each = Math.max(250, Math.min(CAMPAIGN_MS_EACH, Math.floor(CAMPAIGN_MS_TOTAL / Math.max(1, inAll))));
      const outs = [flags.json, flags.junit, flags.html].filter((f) => f !== undefined);
      if (new Set(outs).size !== outs.length) throw new ConfigError('--json, --junit and --html must name different files');
      const base: StressOptions = { protocol: 'all', ...(flags.budget === undefined ? { durationMs: each } : {}) };
      if (flags.seed !== undefined) base.seed = flags.seed;
      const extra = [
        flags.budget !== undefined ? `--budget ${fmtMs(flags.budget)}` : `--duration ${fmtMs(each)}`,
        flags.seeds !== undefined ? `--seeds ${flags.seeds}` : '',
        flags.shard !== undefined ? `--shard ${flags.shard.index}/${flags.shard.count}` : '',
      ].filter(Boolean);
      const { out, spec } = campaignArgs(flags, `hmmsim stress --protocol all ${extra.join(' ')}`);
      state.code = await campaign(runner, base, out, spec);
    });

  addListCommand(program, state);
  addStressCommand(program, state);
  addReplayCommand(program, state);
  addShrinkCommand(program, state);
  addMutateCommand(program, state);
  addMergeCommand(program, state);
  return program;
}
