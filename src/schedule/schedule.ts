/**
 * schedule.ts — a schedule as a value: the command that reruns it, and the checks that decide
 * whether a stored schedule can still be replayed (same hmmsim version, same protocol file).
 */
import { ConfigError } from '../api/errors.js';
import { VERSION } from '../api/version.js';
import { DEFAULTS, protocolRoles } from '../config/defaults.js';
import { DEFAULT_EVENTS, EVENT_NAMES, ROLE_NAMES, type RoleName, type Schedule } from '../api/types.js';
import type { Workload } from './executor.js';
import type { ControlConfig } from './strategy.js';

const DEF = { pages: 64, depth: 10, steps: 2000, boundSteps: 1000 };

/**
 * `hmmsim stress --mode controlled ... --seed S --schedules 1`: runs exactly this schedule again.
 * `own`: the protocol's own roles (MirrorProtocol.roles), which a run without --threads deals.
 */
export function rerunCommand(spec: string, w: Workload, cfg: ControlConfig, own?: Partial<Record<RoleName, number>>): string {
  const parts = ['hmmsim stress --mode controlled', `--protocol ${spec}`];
  if (cfg.strategy === 'random') parts.push('--strategy random');
  else if (cfg.depth !== DEF.depth) parts.push(`--depth ${cfg.depth}`);
  const same = (a: RoleName[], b: RoleName[]) => a.length === b.length && a.every((r, i) => r === b[i]);
  if (!same(w.roles, protocolRoles({}, own))) parts.push(`--threads ${w.roles.length}`);
  if (w.events.join(',') !== DEFAULT_EVENTS.join(',')) parts.push(`--events ${w.events.join(',')}`);
  if (w.pages !== DEF.pages) parts.push(`--pages ${w.pages}`);
  if (w.devices !== DEFAULTS.devices) parts.push(`--devices ${w.devices}`);
  if (w.subsPerDevice !== Math.min(DEFAULTS.subsPerDevice, w.pages / 64)) parts.push(`--subs ${w.subsPerDevice}`);
  if (cfg.steps !== DEF.steps) parts.push(`--steps ${cfg.steps}`);
  if (cfg.boundSteps !== DEF.boundSteps) parts.push(`--bound ${cfg.boundSteps}`);
  parts.push(`--seed ${cfg.seed} --schedules 1`);
  return parts.join(' ');
}

/** Check a stored schedule's shape; throws ConfigError (exit 2) with what is wrong. */
export function checkSchedule(s: unknown, where: string): Schedule {
  const bad = (why: string): never => {
    throw new ConfigError(`${where}: not a replayable schedule (${why}): use a report written by hmmsim stress --mode controlled --json`);
  };
  if (!s || typeof s !== 'object') bad('no schedule object');
  const x = s as Schedule;
  if (x.format !== 1) bad('unknown format');
  if (typeof x.version !== 'string' || typeof x.protocol !== 'string') bad('version or protocol missing');
  if (!Number.isInteger(x.seed) || (x.strategy !== 'pct' && x.strategy !== 'random') || !Number.isInteger(x.depth))
    bad('seed, strategy or depth');
  const c = x.config;
  if (!c || !Array.isArray(c.roles) || !c.roles.every((r) => (ROLE_NAMES as readonly string[]).includes(r))) bad('roles');
  if (!Array.isArray(c.events) || !c.events.every((e) => (EVENT_NAMES as readonly string[]).includes(e))) bad('events');
  for (const k of ['pages', 'devices', 'subsPerDevice', 'steps', 'boundSteps'] as const) if (!Number.isInteger(c[k]) || c[k] < 1) bad(k);
  if (!Array.isArray(x.switches) || !x.switches.every((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isInteger)))
    bad('switches');
  if (x.version !== VERSION)
    throw new ConfigError(
      `${where}: recorded by hmmsim ${x.version}, this is ${VERSION}: a schedule replays only on the version that recorded it (record it again)`,
    );
  return x;
}

/** The control configuration that replays `s` (strict: divergence is reported). */
export function replayConfig(s: Schedule, steps: number, lenient = false, switches = s.switches): ControlConfig {
  return {
    strategy: 'replay',
    seed: s.seed,
    depth: s.depth,
    steps,
    boundSteps: s.config.boundSteps,
    threads: s.config.roles.length,
    switches,
    lenient,
  };
}

export function workloadOf(s: Schedule): Workload {
  const c = s.config;
  return { roles: c.roles, events: c.events, pages: c.pages, devices: c.devices, subsPerDevice: c.subsPerDevice };
}
