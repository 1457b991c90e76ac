/**
 * hmmsim command line: `hmmsim` (the default campaign), `hmmsim stress`, `hmmsim list`.
 *
 * Exit codes: 0 every verdict as expected; 1 some verdict differs from its expectation;
 * 2 usage or config error (one line on stderr, no stack); 3 harness failure (error and stack).
 * See docs/cli.md.
 */
import { randomInt } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../api/errors.js';
import { LayoutError } from '../memory/layout.js';
import { VERSION } from '../api/version.js';
import { EVENT_NAMES, type RunResult, type StressOptions } from '../api/types.js';
import {
  LIMITS,
  collectProtocols,
  fmtMs,
  parseDuration,
  parseEvents,
  parseIntFlag,
  parseOutFile,
  resolveProtocols,
  toStressOptions,
  type StressFlags,
} from './options.js';
import { exitCodeFor, formatErrors, formatList, formatSummary, formatVerdictTable, formatWitnesses } from './format.js';
import { toJUnit, toJsonReport, writeFileAtomic } from './report.js';
import { createProgress } from './progress.js';
import { loadRunner, type RunnerApi } from './runner-api.js';

/** The default campaign: about this long per protocol, and at most this long in all. */
export const CAMPAIGN_MS_EACH = 2000;
export const CAMPAIGN_MS_TOTAL = 20_000;

const SEED_NOTE =
  'Reproducing: --seed N repeats the same workload choices (addresses, event kinds, range\n' +
  'lengths, delays). The interleaving of real threads is up to the OS and cannot be reproduced,\n' +
  'so a rerun with the same seed may find a violation sooner, later or not at all.';

const EXIT_NOTE =
  'Exit codes: 0 every verdict as expected; 1 some verdict differs from its expectation;\n' +
  '2 usage or config error; 3 harness failure (worker crashed, plugin threw, watchdog on the harness).';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const io: Io = {
  out: (s) => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => void process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

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

function isConfigError(err: unknown): boolean {
  return err instanceof ConfigError || err instanceof LayoutError || (err instanceof Error && (err.name === 'ConfigError' || err.name === 'LayoutError'));
}

const oneLine = (s: string) => s.trim().replace(/\s*\n\s*/g, ' ');

function buildProgram(state: { code: number }): Command {
  const program = new Command('hmmsim');
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
    .argument('[command]')
    .usage('[options] [command]')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText(
      'after',
      `
Examples:
  hmmsim                                      default campaign, every built-in protocol
  hmmsim list                                 the built-in protocols and what each is expected to do
  hmmsim stress --protocol all --duration 5s --json report.json --junit junit.xml
  hmmsim stress --protocol ./my-driver.mjs --events migrate,reclaim --seed 42

${EXIT_NOTE}

${SEED_NOTE}

Run \`hmmsim <command> --help\` for a command's flags; docs/cli.md has the report formats.`,
    )
    .action(async (command: string | undefined) => {
      if (command !== undefined) {
        program.error(`unknown command '${command}': commands are stress, list, help (see hmmsim --help)`, {
          exitCode: 2,
          code: 'hmmsim.unknownCommand',
        });
      }
      const runner = await loadRunner();
      const builtins = await runner.listProtocols();
      const each = Math.max(250, Math.min(CAMPAIGN_MS_EACH, Math.floor(CAMPAIGN_MS_TOTAL / Math.max(1, builtins.length))));
      state.code = await campaign(runner, { protocol: 'all', durationMs: each }, {
        quiet: false,
        rerun: `hmmsim stress --protocol all --duration ${fmtMs(each)}`,
      });
    });

  program
    .command('list')
    .description('list the built-in protocols: name, expectation (sound, or the violations it must show), what it does')
    .action(async () => {
      const runner = await loadRunner();
      io.out(formatList(await runner.listProtocols()));
      state.code = 0;
    });

  const stress = program
    .command('stress')
    .description(
      'run protocols under a concurrent stress workload and judge each against its expectation ' +
        '(a plugin loaded from a path is expected to be sound unless it declares otherwise)',
    )
    .requiredOption(
      '-p, --protocol <spec>',
      'built-in name, path to a plugin module (./x.mjs), or all; repeat or comma-separate for several',
      collectProtocols,
    )
    .addOption(
      new Option('-d, --duration <time>', 'run each protocol this long: 500ms, 3s, 2m (default 3s)').argParser((v) => parseDuration(v, 'duration')),
    )
    .addOption(
      new Option('--ops <n>', 'stop each protocol after n role operations (with --duration, whichever comes first)').argParser(
        parseIntFlag('ops', LIMITS.ops.min, LIMITS.ops.max),
      ),
    )
    .addOption(
      new Option('-s, --seed <n>', `seed for the workload choices, ${LIMITS.seed.min}..${LIMITS.seed.max} (default: random, printed)`).argParser(
        parseIntFlag('seed', LIMITS.seed.min, LIMITS.seed.max),
      ),
    )
    .addOption(
      new Option('-t, --threads <n>', `worker threads per protocol, ${LIMITS.threads.min}..${LIMITS.threads.max}, roles dealt round-robin (default 4: one per role)`).argParser(
        parseIntFlag('threads', LIMITS.threads.min, LIMITS.threads.max, 1, ' (every role needs a thread)'),
      ),
    )
    .addOption(
      new Option('-e, --events <list>', `invalidation events to mix, comma-separated: ${EVENT_NAMES.join(',')} (default all)`).argParser(parseEvents),
    )
    .addOption(
      new Option('--pages <n>', `virtual pages, a multiple of 64 (default 256)`).argParser(
        parseIntFlag('pages', LIMITS.pages.min, LIMITS.pages.max, LIMITS.pages.multipleOf),
      ),
    )
    .addOption(
      new Option('--devices <n>', `devices mirroring the address space, ${LIMITS.devices.min}..${LIMITS.devices.max} (default 1)`).argParser(
        parseIntFlag('devices', LIMITS.devices.min, LIMITS.devices.max),
      ),
    )
    .addOption(
      new Option('--subs <n>', 'subscriptions (intervals) per device; pages must be a multiple (default 4, or pages/64 if fewer)').argParser(
        parseIntFlag('subs', LIMITS.subs.min, LIMITS.subs.max),
      ),
    )
    .addOption(
      new Option('--watchdog <time>', 'no progress by a thread for this long is a deadlock or stall (default 2s)').argParser((v) =>
        parseDuration(v, 'watchdog', LIMITS.watchdogMs.min, LIMITS.watchdogMs.max),
      ),
    )
    .option('--no-widen', 'no seeded tiny delays at ctx calls (they widen race windows; sound protocols stay sound)')
    .addOption(new Option('--json <file>', 'write the JSON report here (atomically)').argParser(parseOutFile('--json')))
    .addOption(new Option('--junit <file>', 'write a JUnit XML report here (atomically)').argParser(parseOutFile('--junit')))
    .option('-q, --quiet', 'no live progress (the verdict table is still printed)')
    .addHelpText(
      'after',
      `
Events: munmap, mprotect, dontneed (madvise), migrate, reclaim, cow (fork + write fault), oom (the
OOM reaper's non-blockable invalidation).

${EXIT_NOTE}

${SEED_NOTE}`,
    )
    .action(async (flags: StressFlags) => {
      const runner = await loadRunner();
      const builtins = (await runner.listProtocols()).map((p) => p.name);
      const protocols = resolveProtocols(flags.protocol ?? [], builtins);
      const opts = toStressOptions(flags, protocols);
      state.code = await campaign(runner, opts, {
        quiet: flags.quiet === true,
        json: flags.json,
        junit: flags.junit,
        opsTarget: flags.ops !== undefined && flags.duration === undefined ? flags.ops : undefined,
        rerun: rerunCommand(flags),
      });
    });
  void stress;
  return program;
}

/** The stress command line that repeats this run's configuration (the seed is appended by the summary). */
function rerunCommand(f: StressFlags): string {
  const parts = ['hmmsim stress', `--protocol ${(f.protocol ?? []).map(shellQuote).join(',')}`];
  if (f.duration !== undefined) parts.push(`--duration ${fmtMs(f.duration)}`);
  if (f.ops !== undefined) parts.push(`--ops ${f.ops}`);
  if (f.threads !== undefined) parts.push(`--threads ${f.threads}`);
  if (f.events !== undefined) parts.push(`--events ${f.events.join(',')}`);
  if (f.pages !== undefined) parts.push(`--pages ${f.pages}`);
  if (f.devices !== undefined) parts.push(`--devices ${f.devices}`);
  if (f.subs !== undefined) parts.push(`--subs ${f.subs}`);
  if (f.watchdog !== undefined) parts.push(`--watchdog ${fmtMs(f.watchdog)}`);
  if (f.widen === false) parts.push('--no-widen');
  return parts.join(' ');
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

interface CampaignOut {
  quiet: boolean;
  json?: string;
  junit?: string;
  opsTarget?: number;
  rerun: string;
}

/** Run, show progress, print the table and witnesses, write the reports; resolves to the exit code. */
async function campaign(runner: RunnerApi, base: StressOptions, out: CampaignOut): Promise<number> {
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
