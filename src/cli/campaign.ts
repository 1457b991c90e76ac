/**
 * campaign.ts — run a campaign (or this machine's shard of one), show progress, print the verdict
 * table and witnesses, write the reports: what the default campaign and `stress` share.
 *
 * The units of the shard (plan.ts) are run one seed at a time, each seed's protocols in one
 * runStress call; a protocol run under several seeds is reported once, combined (combine.ts).
 */
import { randomInt } from 'node:crypto';
import { VERSION } from '../api/version.js';
import type { ProtocolResult, RunResult, StressOptions } from '../api/types.js';
import { exitCodeFor, formatErrors, formatSummary, formatVerdictTable, formatWitnesses } from './format.js';
import { toJUnit, toJsonReport, writeReports, type JsonReport } from './report.js';
import { createProgress } from './progress.js';
import type { RunnerApi } from './runner-api.js';
import { io } from './io.js';
import { ConfigError } from '../api/errors.js';
import { formatPlan, planCampaign, portableSpec, type CampaignPlan, type Shard, type Unit } from './plan.js';
import type { ProtocolLike } from './combine.js';
import { toHtml } from './html.js';
import { ALL_PROTOCOLS, HISTORY_PROTOCOLS } from '../protocols/builtin.js';

export interface CampaignOut {
  quiet: boolean;
  json?: string;
  junit?: string;
  html?: string;
  opsTarget?: number;
  rerun: string;
  /** Lines to print after the witnesses (controlled mode: how to replay them); may write files too. */
  after?: (result: RunResult) => string[];
}

/** --shard, --seeds, --budget: absent means shard 1/1, one seed, no budget. */
export interface CampaignSpec {
  shard?: Shard;
  seeds?: number;
  budgetMs?: number;
}

/** What a report says about the campaign it belongs to (the `campaign` field of the JSON report). */
export interface CampaignMeta {
  id: string;
  version: string;
  shard: Shard;
  /** The campaign's seeds are seed, seed+1, ..., seed+seedCount-1 (mod 2^32). */
  seed: number;
  seedCount: number;
  modes: string[];
  protocols: string[];
  /** Units in the whole campaign, and what this shard ran of its own. */
  unitCount: number;
  units: UnitReport[];
  budget: { ms: number; unitMs: number; ranMs: number; ranOps: number; unitsRun: number; unitsPlanned: number } | null;
  /** `hmmsim stress` flags that repeat one unit, without --protocol and --seed. */
  rerun: string;
}

export interface UnitReport extends Unit {
  ran: boolean;
  ops: number;
  durationMs: number;
  violations: number;
  verdict: string;
}

/** The JSON report of a shard: the stress report plus `campaign`. */
export type ShardReport = JsonReport & { campaign: CampaignMeta };

/** Run, show progress, print the table and witnesses, write the reports; resolves to the exit code. */
export async function campaign(runner: RunnerApi, base: StressOptions, out: CampaignOut, spec: CampaignSpec = {}): Promise<number> {
  if (spec.shard && spec.shard.count > 1 && base.seed === undefined)
    throw new ConfigError('--shard needs --seed: every shard must run the same campaign (e.g. --seed $GITHUB_RUN_ID)');
  const seed = base.seed ?? randomInt(0, 2 ** 32);
  const builtins = (await runner.listProtocols()).map((p) => p.name);
  const specs = Array.isArray(base.protocol) ? base.protocol : [base.protocol];
  // 'all': every built-in outside history/; 'history': the kernel's fixed races, bug beside fix
  const expand = (s: string) =>
    s === 'all' ? builtins.filter((n) => (ALL_PROTOCOLS as string[]).includes(n)) : s === 'history' ? HISTORY_PROTOCOLS : [s];
  const protocols = [...new Set(specs.flatMap(expand))];
  const { protocol: _p, seed: _s, onProgress: _o, signal: _g, ...shared } = base;
  const shard = spec.shard ?? { index: 1, count: 1 };
  const plan = planCampaign({ protocols, seed, seeds: spec.seeds ?? 1, shard, budgetMs: spec.budgetMs, base: shared });
  const unitMs = plan.unitMs ?? base.durationMs;
  const planned = spec.shard !== undefined || (spec.seeds ?? 1) > 1 || spec.budgetMs !== undefined;
  if (planned) io.out(`${formatPlan(plan, unitMs ?? (base.ops === undefined ? 3000 : undefined), base.ops)}\n`);

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
  if (process.stdout.isTTY && !out.quiet && !planned) {
    const what = Array.isArray(base.protocol) ? base.protocol.join(', ') : base.protocol;
    io.out(`hmmsim ${VERSION}: protocol ${what}, seed ${seed}`);
  }
  const runs: { seed: number; result: RunResult }[] = [];
  const groups = [...groupBySeed(plan.mine)];
  try {
    for (const [unitSeed, units] of groups) {
      if (ac.signal.aborted) break;
      const protocol = units.map((u) => u.protocol);
      const opts: StressOptions = { ...base, protocol, seed: unitSeed, onProgress: (p) => progress.update(p), signal: ac.signal };
      if (plan.unitMs !== null) opts.durationMs = plan.unitMs;
      runs.push({ seed: unitSeed, result: await runner.runStress(opts) });
    }
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
  }
  const result = await combineRuns(
    runs,
    groups.map(([, units]) => units),
    seed,
    protocols.length,
  );
  const meta = campaignMeta(plan, runs, out.rerun);

  let code: number = exitCodeFor(result);
  process.exitCode = code; // what a closed stdout pipe (EPIPE) exits with
  if (result.protocols.length > 0) io.out(formatVerdictTable(result));
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
  if (meta.budget) io.out(formatRan(meta));

  const report = (): ShardReport => shardReport(result, meta);
  const written = writeReports(
    [
      [out.json, () => JSON.stringify(report(), null, 2) + '\n'],
      [out.junit, () => toJUnit(result)],
      [out.html, () => toHtml(report())],
    ],
    io.err,
  );
  if (!written) code = 3;
  if (ac.signal.aborted && code === 0) code = 130;
  return code;
}

function groupBySeed(units: Unit[]): Map<number, Unit[]> {
  const groups = new Map<number, Unit[]>();
  for (const u of units) groups.set(u.seed, [...(groups.get(u.seed) ?? []), u]);
  return groups;
}

/**
 * The runs of several seeds as one result: one entry per protocol (combined when it ran under
 * several seeds), in the order the protocols were given. Run i's protocols are group i's units, in order.
 */
async function combineRuns(
  runs: { seed: number; result: RunResult }[],
  groups: Unit[][],
  seed: number,
  protocolCount: number,
): Promise<RunResult> {
  const { combineProtocol } = await import('./combine.js'); // with the runner: not loaded for --help
  const byName = new Map<string, { parts: { result: ProtocolLike; seed: number }[]; position: number }>();
  runs.forEach((run, i) =>
    run.result.protocols.forEach((p, j) => {
      const entry = byName.get(p.name) ?? { parts: [], position: groups[i][j].unit % protocolCount };
      entry.parts.push({ result: p, seed: run.seed });
      byName.set(p.name, entry);
    }),
  );
  const protocols = [...byName.values()]
    .sort((a, b) => a.position - b.position)
    .map(({ parts }) => (parts.length === 1 ? parts[0].result : combineProtocol(parts)) as ProtocolResult);
  return { version: VERSION, seed, config: runs[0]?.result.config ?? {}, protocols };
}

function campaignMeta(plan: CampaignPlan, runs: { seed: number; result: RunResult }[], rerun: string): CampaignMeta {
  const units: UnitReport[] = plan.mine.map((u) => {
    const run = runs.find((r) => r.seed === u.seed);
    const idx = run ? plan.mine.filter((m) => m.seed === u.seed).indexOf(u) : -1;
    const p = idx >= 0 ? run!.result.protocols[idx] : undefined;
    return {
      ...u,
      protocol: portableSpec(u.protocol),
      ran: p !== undefined,
      ops: p?.ops ?? 0,
      durationMs: p?.durationMs ?? 0,
      violations: p ? Object.values(p.violations).reduce<number>((s, n) => s + (n ?? 0), 0) : 0,
      verdict: p?.verdict ?? 'not run',
    };
  });
  const ran = units.filter((u) => u.ran);
  return {
    id: plan.id,
    version: VERSION,
    shard: plan.shard,
    seed: plan.seeds[0],
    seedCount: plan.seeds.length,
    modes: plan.modes,
    protocols: plan.protocols.map(portableSpec),
    unitCount: plan.units.length,
    units,
    budget:
      plan.budgetMs === null
        ? null
        : {
            ms: plan.budgetMs,
            unitMs: plan.unitMs!,
            ranMs: ran.reduce((s, u) => s + u.durationMs, 0),
            ranOps: ran.reduce((s, u) => s + u.ops, 0),
            unitsRun: ran.length,
            unitsPlanned: plan.mine.length,
          },
    rerun,
  };
}

/** The --json report of a shard: the stress report, each protocol's extra fields (coverage, ...) kept, plus `campaign`. */
export function shardReport(result: RunResult, meta: CampaignMeta): ShardReport {
  const json = toJsonReport(result);
  json.protocols = json.protocols.map((p, i) => ({ ...extraFields(result.protocols[i]), ...p }));
  return { ...json, campaign: meta };
}

const KNOWN = new Set([
  'name',
  'description',
  'expect',
  'verdict',
  'ops',
  'opsPerSec',
  'retries',
  'violations',
  'firstViolationMs',
  'durationMs',
  'roleOps',
  'witnesses',
  'error',
]);
const extraFields = (p: ProtocolResult): Record<string, unknown> => Object.fromEntries(Object.entries(p).filter(([k]) => !KNOWN.has(k)));

function formatRan(meta: CampaignMeta): string {
  const b = meta.budget!;
  return (
    `budget: ran ${b.unitsRun} of ${b.unitsPlanned} units of this shard, ${(b.ranMs / 1000).toFixed(1)} s of protocol time ` +
    `(${meta.shard.count > 1 ? `this shard's share of ` : ''}${(b.ms / 1000).toFixed(1)} s for the campaign), ` +
    `${b.ranOps.toLocaleString('en-US')} ops`
  );
}
