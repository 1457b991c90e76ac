/**
 * stress.ts — `hmmsim stress`: run the given protocols under the stress workload and judge each.
 */
import { Option, type Command } from 'commander';
import { EVENT_NAMES } from '../../api/types.js';
import { LIMITS } from '../../config/limits.js';
import { collectProtocols, fmtMs, parseDuration, parseEvents, parseIntFlag, toStressOptions, type StressFlags } from '../options.js';
import { resolveProtocols, specOf } from '../../config/protocols.js';
import { loadRunner } from '../runner-api.js';
import { campaign } from '../campaign.js';
import { EXIT_NOTE, SEED_NOTE, type CommandState } from '../io.js';
import { addCampaignOptions, campaignArgs, seedOption } from './campaign-options.js';
import { basename } from 'node:path';
import type { RunResult } from '../../api/types.js';
import { saveFailures } from '../../schedule/corpus.js';

export function addStressCommand(program: Command, state: CommandState): void {
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
      new Option('-d, --duration <time>', 'run each protocol this long: 500ms, 3s, 2m (default 3s)').argParser((v) =>
        parseDuration(v, 'duration'),
      ),
    )
    .addOption(
      new Option('--ops <n>', 'stop each protocol after n role operations (with --duration, whichever comes first)').argParser(
        parseIntFlag('ops', LIMITS.ops.min, LIMITS.ops.max),
      ),
    )
    .addOption(seedOption())
    .addOption(
      new Option(
        '-t, --threads <n>',
        `worker threads per protocol, ${LIMITS.threads.min}..${LIMITS.threads.max}, roles dealt round-robin (default 4: one per role)`,
      ).argParser(parseIntFlag('threads', LIMITS.threads.min, LIMITS.threads.max, 1, ' (every role needs a thread)')),
    )
    .addOption(
      new Option('-e, --events <list>', `invalidation events to mix, comma-separated: ${EVENT_NAMES.join(',')} (default all)`).argParser(
        parseEvents,
      ),
    )
    .addOption(
      new Option('--pages <n>', `virtual pages, a multiple of 64 (default 256)`).argParser(
        parseIntFlag('pages', LIMITS.pages.min, LIMITS.pages.max, LIMITS.pages.multipleOf),
      ),
    )
    .addOption(
      new Option(
        '--devices <n>',
        `devices mirroring the address space, ${LIMITS.devices.min}..${LIMITS.devices.max} (default 1)`,
      ).argParser(parseIntFlag('devices', LIMITS.devices.min, LIMITS.devices.max)),
    )
    .addOption(
      new Option(
        '--subs <n>',
        'subscriptions (intervals) per device; pages must be a multiple (default 4, or pages/64 if fewer)',
      ).argParser(parseIntFlag('subs', LIMITS.subs.min, LIMITS.subs.max)),
    )
    .addOption(
      new Option('--watchdog <time>', 'no progress by a thread for this long is a deadlock or stall (default 2s)').argParser((v) =>
        parseDuration(v, 'watchdog', LIMITS.watchdogMs.min, LIMITS.watchdogMs.max),
      ),
    )
    .addOption(
      new Option(
        '--deadlock <time>',
        'a wait-for cycle among lock waiters unchanged this long is a deadlock at once (default 100ms)',
      ).argParser((v) => parseDuration(v, 'deadlock', LIMITS.deadlockMs.min, LIMITS.deadlockMs.max)),
    )
    .option('--no-widen', 'no seeded tiny delays at ctx calls (they widen race windows; sound protocols stay sound)')
    .addOption(
      new Option(
        '--mode <mode>',
        'free (default): real parallelism, fastest; controlled: one thread at a time under a seeded scheduler, every violation replayable',
      ).choices(['free', 'controlled']),
    )
    .addOption(new Option('--strategy <name>', 'controlled mode: pct (default) or random').choices(['pct', 'random']))
    .addOption(
      new Option('--depth <d>', 'controlled mode, pct: depth d, d-1 priority change points per schedule (default 10)').argParser(
        parseIntFlag('depth', 1, 64),
      ),
    )
    .addOption(
      new Option('--schedules <n>', 'controlled mode: schedules per protocol (default 200; or --duration)').argParser(
        parseIntFlag('schedules', 1, LIMITS.ops.max),
      ),
    )
    .addOption(
      new Option('--steps <n>', 'controlled mode: scheduling points per schedule (default 2000)').argParser(
        parseIntFlag('steps', 10, 10_000_000),
      ),
    )
    .addOption(
      new Option('--bound <n>', 'controlled mode: liveness bound in steps: deadlock, stall, wait timeouts (default 1000)').argParser(
        parseIntFlag('bound', 10, 10_000_000),
      ),
    )
    .addOption(
      new Option(
        '--save-failures <dir>',
        'controlled mode: store each distinct failing schedule in dir (a regression corpus for hmmsim replay dir)',
      ),
    );
  addCampaignOptions(stress, 'the campaign (protocols x seeds)');
  stress
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
      const protocols = resolveProtocols(flags.protocol ?? [], builtins).map(specOf);
      const opts = toStressOptions(flags, protocols);
      const { out, spec } = campaignArgs(flags, rerunCommand(flags));
      const opsTarget = flags.ops !== undefined && flags.duration === undefined ? flags.ops : undefined;
      state.code = await campaign(runner, opts, { ...out, opsTarget, after: (result) => replayLines(result, flags) }, spec);
    });
}

/** Controlled mode: how to replay each witness, and the corpus files written. */
function replayLines(result: RunResult, flags: StressFlags): string[] {
  const lines: string[] = [];
  let i = 0;
  for (const p of result.protocols) {
    const c = p.controlled;
    if (c)
      lines.push(
        `${p.name}: ${c.schedules.toLocaleString('en-US')} schedules (${c.schedulesPerSec}/s), ${c.points.toLocaleString('en-US')} points (${c.pointsPerSec.toLocaleString('en-US')}/s), ${c.switches.toLocaleString('en-US')} switches, first violation in schedule ${c.firstViolationSchedule ?? '-'}`,
      );
    for (const w of p.witnesses)
      if (w.schedule) {
        lines.push(
          `  replay ${p.name} ${w.kind}: ${
            flags.json
              ? `hmmsim replay ${flags.json} --index ${i}`
              : `${w.text
                  .split('\n')
                  .pop()
                  ?.replace(/^rerun: /, '')} (or --json FILE, then hmmsim replay FILE --index ${i})`
          }`,
        );
        i++;
      }
  }
  if (flags.saveFailures) {
    const files = saveFailures(result, flags.saveFailures);
    lines.push(
      `${files.length} new failing schedule(s) saved in ${flags.saveFailures}${files.length ? ': ' + files.map((f) => basename(f)).join(', ') : ''}`,
    );
  }
  return lines;
}

/** The stress command line that repeats this run's configuration (the seed is appended by the summary). */
export function rerunCommand(f: StressFlags): string {
  const parts = ['hmmsim stress', `--protocol ${(f.protocol ?? []).map(shellQuote).join(',')}`];
  if (f.duration !== undefined) parts.push(`--duration ${fmtMs(f.duration)}`);
  if (f.ops !== undefined) parts.push(`--ops ${f.ops}`);
  if (f.threads !== undefined) parts.push(`--threads ${f.threads}`);
  if (f.events !== undefined) parts.push(`--events ${f.events.join(',')}`);
  if (f.pages !== undefined) parts.push(`--pages ${f.pages}`);
  if (f.devices !== undefined) parts.push(`--devices ${f.devices}`);
  if (f.subs !== undefined) parts.push(`--subs ${f.subs}`);
  if (f.watchdog !== undefined) parts.push(`--watchdog ${fmtMs(f.watchdog)}`);
  if (f.deadlock !== undefined) parts.push(`--deadlock ${fmtMs(f.deadlock)}`);
  if (f.widen === false) parts.push('--no-widen');
  if (f.mode === 'controlled') parts.push('--mode controlled');
  if (f.strategy !== undefined) parts.push(`--strategy ${f.strategy}`);
  if (f.depth !== undefined) parts.push(`--depth ${f.depth}`);
  if (f.schedules !== undefined) parts.push(`--schedules ${f.schedules}`);
  if (f.steps !== undefined) parts.push(`--steps ${f.steps}`);
  if (f.bound !== undefined) parts.push(`--bound ${f.bound}`);
  if (f.budget !== undefined) parts.push(`--budget ${fmtMs(f.budget)}`);
  if (f.seeds !== undefined) parts.push(`--seeds ${f.seeds}`);
  if (f.shard !== undefined) parts.push(`--shard ${f.shard.index}/${f.shard.count}`);
  return parts.join(' ');
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
