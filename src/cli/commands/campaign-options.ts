/**
 * campaign-options.ts — the flags that every campaign takes, on bare `hmmsim` and on `stress`:
 * the seed and seeds, sharding, the budget, the reports and --quiet. Declared once here.
 */
import { Option, type Command } from 'commander';
import { LIMITS } from '../../config/limits.js';
import { parseDuration, parseIntFlag, parseOutFile } from '../options.js';
import { parseShard, type Shard } from '../plan.js';
import type { CampaignOut, CampaignSpec } from '../campaign.js';

/** -s, --seed: the workload's seed. */
export const seedOption = (): Option =>
  new Option(
    '-s, --seed <n>',
    `seed for the workload choices, ${LIMITS.seed.min}..${LIMITS.seed.max} (default: random, printed)`,
  ).argParser(parseIntFlag('seed', LIMITS.seed.min, LIMITS.seed.max));

/** --seeds, --shard, --budget, --json, --junit, --html, --quiet; `what` names the campaign in --shard's help. */
export function addCampaignOptions(command: Command, what: string): Command {
  return command
    .addOption(
      new Option('--seeds <k>', 'run the campaign under k seeds: --seed, --seed+1, ... (default 1)').argParser(
        parseIntFlag('seeds', LIMITS.seeds.min, LIMITS.seeds.max),
      ),
    )
    .addOption(new Option('--shard <i/N>', `run shard i of N of ${what}: a CI matrix, an indexed job; needs --seed`).argParser(parseShard))
    .addOption(
      new Option('--budget <time>', 'protocol time for the whole campaign (all shards), divided among its units: 10m, 2h').argParser((v) =>
        parseDuration(v, 'budget'),
      ),
    )
    .addOption(new Option('--json <file>', 'write the JSON report here (atomically)').argParser(parseOutFile('--json')))
    .addOption(new Option('--junit <file>', 'write a JUnit XML report here (atomically)').argParser(parseOutFile('--junit')))
    .addOption(new Option('--html <file>', 'write a self-contained HTML report here (atomically)').argParser(parseOutFile('--html')))
    .option('-q, --quiet', 'no live progress (the verdict table is still printed)');
}

/** What commander hands an action for the flags above (and --seed). */
export interface CampaignFlags {
  seed?: number;
  seeds?: number;
  shard?: Shard;
  budget?: number;
  json?: string;
  junit?: string;
  html?: string;
  quiet?: boolean;
}

/** The flags above as campaign()'s report outputs and plan. */
export function campaignArgs(flags: CampaignFlags, rerun: string): { out: CampaignOut; spec: CampaignSpec } {
  return {
    out: { quiet: flags.quiet === true, json: flags.json, junit: flags.junit, html: flags.html, rerun },
    spec: { shard: flags.shard, seeds: flags.seeds, budgetMs: flags.budget },
  };
}
