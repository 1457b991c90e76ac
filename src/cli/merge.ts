/**
 * merge.ts — shard reports (`--shard i/N --json F`) read, checked to be one campaign of one
 * version with no shard twice, and combined into one report: ops, counts and coverage summed,
 * violations deduplicated by signature, rule-of-three bounds for clean protocols
 * (docs/campaigns.md). Every problem with the input is a ConfigError (exit 2) naming the file.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError } from '../api/errors.js';
import { VERSION } from '../api/version.js';
import { VIOLATION_KINDS } from '../api/kinds.js';
import type { ProtocolResult, RunResult } from '../api/types.js';
import type { CampaignMeta, ShardReport, UnitReport } from './campaign.js';
import { boundsOf, combineProtocol, type Bounds, type ProtocolLike } from './combine.js';
import type { JsonProtocol } from './report.js';

export interface MergedProtocol extends JsonProtocol {
  /** The rule-of-three 95% upper bounds on the violation rate of a clean protocol; null when it violated or failed. */
  bounds: Bounds | null;
  [extra: string]: unknown;
}

export interface MergedCampaign extends Omit<CampaignMeta, 'shard'> {
  shardCount: number;
  /** The shards merged and those missing (1-based). */
  shards: number[];
  missingShards: number[];
  files: string[];
  mergedBy: string;
}

export interface MergedReport {
  version: string;
  seed: number;
  config: Record<string, unknown>;
  protocols: MergedProtocol[];
  campaign: MergedCampaign;
}

interface Loaded {
  file: string;
  report: ShardReport;
}

/** Files named directly, and every *.json file directly inside a named directory (sorted). */
export function expandInputs(inputs: string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    let isDir: boolean;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      throw new ConfigError(`${input}: no such file or directory`);
    }
    if (!isDir) files.push(input);
    else {
      const found = readdirSync(input)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(input, f));
      if (found.length === 0) throw new ConfigError(`${input}: no .json shard reports in this directory`);
      files.push(...found);
    }
  }
  return [...new Set(files)];
}

/** Read and check one shard report. */
export function readShard(file: string): Loaded {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let report: ShardReport;
  try {
    report = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: truncated or not JSON (${(err as Error).message}): run that shard again`);
  }
  const c = report?.campaign as Partial<CampaignMeta> | undefined;
  if (!report || typeof report !== 'object' || !Array.isArray(report.protocols) || typeof report.version !== 'string')
    throw new ConfigError(`${file}: not an hmmsim JSON report (write shards with hmmsim stress --shard i/N --json FILE)`);
  if (!c || typeof c.id !== 'string' || !c.shard || !Number.isInteger(c.shard.index) || !Number.isInteger(c.shard.count))
    throw new ConfigError(`${file}: a report without a campaign shard (write shards with hmmsim stress --shard i/N --seed S --json FILE)`);
  return { file, report };
}

/** Check the shards are one campaign of one version, each shard at most once; returns the missing shard numbers. */
export function checkShards(shards: Loaded[]): number[] {
  if (shards.length === 0) throw new ConfigError('no shard reports given: hmmsim merge <files or directories>');
  const [first] = shards;
  const c0 = first.report.campaign;
  const seen = new Map<number, string>();
  for (const s of shards) {
    const c = s.report.campaign;
    if (s.report.version !== first.report.version)
      throw new ConfigError(
        `version mismatch: ${first.file} was written by hmmsim ${first.report.version}, ${s.file} by ${s.report.version}: ` +
          'run every shard with one hmmsim version',
      );
    if (c.id !== c0.id)
      throw new ConfigError(`${first.file} is from campaign ${c0.id}, ${s.file} from campaign ${c.id}: merge the shards of one campaign`);
    if (c.shard.count !== c0.shard.count)
      throw new ConfigError(
        `${first.file} is shard ${c0.shard.index}/${c0.shard.count}, ${s.file} is ${c.shard.index}/${c.shard.count}: ` +
          'merge shards of one split',
      );
    const dup = seen.get(c.shard.index);
    if (dup !== undefined) throw new ConfigError(`shard ${c.shard.index}/${c.shard.count} given twice: ${dup} and ${s.file}`);
    seen.set(c.shard.index, s.file);
  }
  return Array.from({ length: c0.shard.count }, (_, i) => i + 1).filter((i) => !seen.has(i));
}

/** Combine checked shards (in shard order) into one report. */
export function mergeShards(shards: Loaded[], missing: number[]): MergedReport {
  const sorted = [...shards].sort((a, b) => a.report.campaign.shard.index - b.report.campaign.shard.index);
  const c0 = sorted[0].report.campaign;
  const parts = new Map<string, { result: ProtocolLike; seed: number; shard: number }[]>();
  for (const s of sorted)
    for (const p of s.report.protocols)
      parts.set(p.name, [
        ...(parts.get(p.name) ?? []),
        { result: p as unknown as ProtocolLike, seed: s.report.seed, shard: s.report.campaign.shard.index },
      ]);
  const order = c0.protocols;
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  const names = [...parts.keys()].sort((a, b) => rank(a) - rank(b));
  const protocols = names.map((name) => {
    const combined = combineProtocol(parts.get(name)!);
    const violations: Record<string, number> = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0]));
    for (const [k, n] of Object.entries(combined.violations)) violations[k] = n ?? 0;
    return { ...combined, violations, error: combined.error ?? null, bounds: boundsOf(combined) ?? null } as MergedProtocol;
  });
  const units: UnitReport[] = sorted.flatMap((s) => s.report.campaign.units ?? []).sort((a, b) => a.unit - b.unit);
  const budgets = sorted.map((s) => s.report.campaign.budget).filter((b) => b !== null && b !== undefined);
  const { shard: _shard, ...meta } = c0;
  return {
    version: sorted[0].report.version,
    seed: c0.seed,
    config: sorted.map((s) => s.report.config).find((cfg) => cfg && Object.keys(cfg).length > 0) ?? {},
    protocols,
    campaign: {
      ...meta,
      units,
      budget:
        budgets.length === 0
          ? null
          : {
              ms: budgets[0]!.ms,
              unitMs: budgets[0]!.unitMs,
              ranMs: budgets.reduce((s, b) => s + b!.ranMs, 0),
              ranOps: budgets.reduce((s, b) => s + b!.ranOps, 0),
              unitsRun: budgets.reduce((s, b) => s + b!.unitsRun, 0),
              unitsPlanned: budgets.reduce((s, b) => s + b!.unitsPlanned, 0),
            },
      shardCount: c0.shard.count,
      shards: sorted.map((s) => s.report.campaign.shard.index),
      missingShards: missing,
      files: sorted.map((s) => basename(s.file)),
      mergedBy: VERSION,
    },
  };
}

/** A merged (or shard) report as the verdict table, the witnesses and JUnit read it. */
export function asRunResult(report: {
  version: string;
  seed: number;
  config: Record<string, unknown>;
  protocols: JsonProtocol[];
}): RunResult {
  return {
    version: report.version,
    seed: report.seed,
    config: report.config,
    protocols: report.protocols.map((p) => ({ ...p, error: p.error ?? undefined }) as ProtocolResult),
  };
}

/** The lines under the merged table: the distinct violations and the bound of each clean protocol. */
export function formatMergeNotes(report: MergedReport): string {
  const lines: string[] = [];
  const c = report.campaign;
  lines.push(
    `campaign ${c.id}: ${c.shards.length} of ${c.shardCount} shards merged` +
      (c.missingShards.length ? ` (MISSING ${c.missingShards.map((i) => `${i}/${c.shardCount}`).join(', ')})` : '') +
      `, ${c.units.length} of ${c.unitCount} units, hmmsim ${report.version}`,
  );
  for (const p of report.protocols) {
    const distinct = (p.witnesses as { seen?: number }[]).length;
    if (distinct > 0) lines.push(`${p.name}: ${distinct} distinct violation${distinct === 1 ? '' : 's'} (by witness shape)`);
    if (!p.bounds) continue;
    const rate =
      p.bounds.perOp === null ? 'no ops, no bound' : `violation rate < ${p.bounds.perOp.toExponential(2)} per op (95%, rule of three)`;
    lines.push(`${p.name}: clean over ${p.ops.toLocaleString('en-US')} ops: ${rate}`);
    for (const [window, w] of Object.entries(p.bounds.windows ?? {}))
      lines.push(
        `  window ${window}: ${w.hits.toLocaleString('en-US')} hits: ` +
          (w.perHit === null ? 'never hit, no bound' : `< ${w.perHit.toExponential(2)} per hit`),
      );
  }
  return lines.join('\n');
}
