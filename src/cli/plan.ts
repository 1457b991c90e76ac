/**
 * plan.ts — a campaign as a list of units (protocol x seed x mode), its id, its split into shards
 * and its time budget. A shard is a pure function of the configuration and `--shard i/N`: every
 * machine that runs shard i of a campaign runs the same units (docs/campaigns.md).
 *
 * Units are numbered seed-major (every protocol of seed 0, then of seed 1, ...) and dealt to the
 * shards round-robin: unit u belongs to shard (u mod N) + 1.
 */
import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../api/errors.js';
import type { StressOptions } from '../api/types.js';
import { fmtMs } from './options.js';

/** How a unit is run: the run's mode option ('free', real threads in parallel, when it has none). */
export type Mode = string;
export const DEFAULT_MODE: Mode = 'free';

export interface Shard {
  /** 1-based, like `node --test-shard`. */
  index: number;
  count: number;
}

export interface Unit {
  /** Position in the whole campaign (0-based). */
  unit: number;
  protocol: string;
  seed: number;
  mode: Mode;
}

export interface CampaignPlan {
  id: string;
  shard: Shard;
  /** The campaign's seeds: seed, seed+1, ... (mod 2^32). */
  seeds: number[];
  protocols: string[];
  modes: Mode[];
  /** Every unit of the campaign, and this shard's. */
  units: Unit[];
  mine: Unit[];
  /** --budget: the whole campaign's protocol time, and each unit's share (else null). */
  budgetMs: number | null;
  unitMs: number | null;
}

/** Units run no shorter than this under --budget. */
export const MIN_UNIT_MS = 100;

/** "2/4" -> { index: 2, count: 4 } (1 <= index <= count). */
export function parseShard(raw: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  if (!m) throw new InvalidArgumentError('shard must be i/N, like 1/4 (shard 1 of 4).');
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 100_000) throw new InvalidArgumentError('shard count N must be from 1 to 100000.');
  if (index < 1 || index > count) throw new InvalidArgumentError(`shard index must be from 1 to ${count} (shards are numbered from 1).`);
  return { index, count };
}

/** The campaign's seeds: K seeds starting at `seed`, each +1, wrapping at 2^32. */
export function campaignSeeds(seed: number, k: number): number[] {
  return Array.from({ length: k }, (_, j) => (seed + j) >>> 0);
}

/** How a protocol is named in the campaign id: a plugin path relative to the working directory, so machines agree. */
export function portableSpec(spec: string): string {
  return spec.startsWith('/') ? relative(process.cwd(), spec) || spec : spec;
}

/**
 * The campaign id: a hash of everything that decides what the units do (protocols, seeds, modes,
 * the run configuration, the budget), not of the shard index, count or the version (merge checks
 * those with their own messages).
 */
export function campaignId(what: Record<string, unknown>): string {
  return createHash('sha256').update(canonical(what)).digest('hex').slice(0, 16);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export interface PlanInput {
  /** Protocol specs with 'all' already expanded to the built-in names, in order. */
  protocols: string[];
  seed: number;
  seeds: number;
  shard: Shard;
  budgetMs?: number;
  /** The options every unit shares (protocol and seed are the unit's). */
  base: Omit<StressOptions, 'protocol' | 'seed' | 'onProgress' | 'signal'>;
}

export function planCampaign(input: PlanInput): CampaignPlan {
  const seeds = campaignSeeds(input.seed, input.seeds);
  const modes: Mode[] = [(input.base as { mode?: Mode }).mode ?? DEFAULT_MODE];
  const units: Unit[] = [];
  for (const seed of seeds)
    for (const mode of modes) for (const protocol of input.protocols) units.push({ unit: units.length, protocol, seed, mode });
  let unitMs: number | null = null;
  if (input.budgetMs !== undefined) {
    unitMs = Math.floor(input.budgetMs / units.length);
    if (unitMs < MIN_UNIT_MS)
      throw new ConfigError(
        `--budget ${fmtMs(input.budgetMs)} gives each of the ${units.length} units ${unitMs} ms: ` +
          `give at least ${fmtMs(MIN_UNIT_MS * units.length)}, or fewer --seeds or protocols`,
      );
  }
  const base = { ...input.base, ...(unitMs !== null ? { durationMs: unitMs } : {}) };
  const id = campaignId({
    protocols: input.protocols.map(portableSpec),
    seeds,
    modes,
    budgetMs: input.budgetMs ?? null,
    base: { ...base, widenWindows: base.widenWindows ?? true },
  });
  const mine = units.filter((u) => u.unit % input.shard.count === input.shard.index - 1);
  return { id, shard: input.shard, seeds, protocols: input.protocols, modes, units, mine, budgetMs: input.budgetMs ?? null, unitMs };
}

/** The lines printed before a sharded, multi-seed or budgeted campaign starts. */
export function formatPlan(plan: CampaignPlan, perUnitMs: number | undefined, perUnitOps: number | undefined): string {
  const n = plan.units.length;
  const each = perUnitMs !== undefined ? fmtMs(perUnitMs) : undefined;
  const limit = [each && `${each}`, perUnitOps !== undefined && `${perUnitOps.toLocaleString('en-US')} ops`].filter(Boolean).join(' or ');
  const lines = [
    `campaign ${plan.id}: ${count(plan.protocols.length, 'protocol')} x ${count(plan.seeds.length, 'seed')} ` +
      `(${plan.seeds[0]}${plan.seeds.length > 1 ? `..${plan.seeds[plan.seeds.length - 1]}` : ''}) ` +
      `x ${plan.modes.length} mode (${plan.modes.join(',')}) = ${count(n, 'unit')}` +
      (limit ? `, ${limit} each` : ''),
  ];
  if (plan.budgetMs !== null)
    lines.push(`budget ${fmtMs(plan.budgetMs)} of protocol time for the whole campaign: ${fmtMs(plan.unitMs!)} per unit`);
  const mineMs =
    perUnitMs !== undefined && plan.mine.length > 0 ? ` (about ${fmtMs(roundMs(perUnitMs * plan.mine.length))} of protocol time)` : '';
  lines.push(
    `shard ${plan.shard.index}/${plan.shard.count}: ${plan.mine.length} unit${plan.mine.length === 1 ? '' : 's'}${mineMs}` +
      (plan.mine.length ? `: ${listUnits(plan.mine)}` : ' (nothing to run)'),
  );
  return lines.join('\n');
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

const listUnits = (units: Unit[]) =>
  units
    .slice(0, 8)
    .map((u) => `${u.protocol}@${u.seed}`)
    .join(', ') + (units.length > 8 ? `, ... (${units.length - 8} more)` : '');

const roundMs = (ms: number) => (ms >= 10_000 ? Math.round(ms / 1000) * 1000 : ms);
