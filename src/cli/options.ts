/**
 * cli/options.ts — flag parsers and the checks the CLI does before anything reaches the runner.
 *
 * Per-flag parsers throw commander's InvalidArgumentError (commander turns it into one line,
 * "hmmsim: option '--pages <n>' argument 'x' is invalid. ..."); checks that need more than one
 * flag, or the list of built-in protocols, throw ConfigError. Both end in exit 2.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../api/errors.js';
import { EVENT_NAMES, type EventName, type StressOptions } from '../api/types.js';
import { LIMITS } from '../config/limits.js';
import { DEFAULTS } from '../config/defaults.js';

const INT_RE = /^[+]?\d+$/;

/** A non-negative decimal integer in [min, max] (optionally a multiple of `multipleOf`). */
export function parseIntFlag(what: string, min: number, max: number, multipleOf = 1, why = '') {
  return (raw: string): number => {
    const s = raw.trim().replace(/_/g, '');
    if (!INT_RE.test(s)) throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`);
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} must be from ${min} to ${max}${why}.`);
    if (n % multipleOf !== 0) throw new InvalidArgumentError(`${what} must be a multiple of ${multipleOf}.`);
    return n;
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "3s", "500ms", "1.5s", "2m", "1h" -> milliseconds (a whole, positive number). */
export function parseDuration(
  raw: string,
  what = 'duration',
  min: number = LIMITS.durationMs.min,
  max: number = LIMITS.durationMs.max,
): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)$/i.exec(raw.trim());
  if (!m) {
    const hint = /^\d+(\.\d+)?$/.test(raw.trim()) ? ' (add a unit)' : '';
    throw new InvalidArgumentError(`${what} must be a number with a unit, like 500ms, 3s or 2m${hint}.`);
  }
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2].toLowerCase()]);
  if (!Number.isFinite(ms) || ms < min || ms > max) throw new InvalidArgumentError(`${what} must be from ${fmtMs(min)} to ${fmtMs(max)}.`);
  return ms;
}

export function fmtMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** "munmap,cow" -> ['munmap', 'cow'] (each known, no duplicates, at least one). */
export function parseEvents(raw: string): EventName[] {
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new InvalidArgumentError(`give at least one event: ${EVENT_NAMES.join(',')}.`);
  const bad = names.filter((n) => !(EVENT_NAMES as readonly string[]).includes(n));
  if (bad.length > 0)
    throw new InvalidArgumentError(
      `unknown event${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}: known events are ${EVENT_NAMES.join(', ')}.`,
    );
  return [...new Set(names)] as EventName[];
}

/** Repeated or comma-separated --protocol values, collected. */
export function collectProtocols(raw: string, prev: string[] | undefined): string[] {
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) throw new InvalidArgumentError('give a protocol name, a path to a plugin module, or all.');
  return [...(prev ?? []), ...parts];
}

/** A --json/--junit target: its directory must exist (checked now, not after a long run). */
export function parseOutFile(what: string) {
  return (raw: string): string => {
    if (raw.trim() === '') throw new InvalidArgumentError(`${what} needs a file name.`);
    const file = resolve(raw);
    const dir = dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InvalidArgumentError(`directory ${dir} does not exist.`);
    if (existsSync(file) && statSync(file).isDirectory()) throw new InvalidArgumentError(`${raw} is a directory.`);
    return file;
  };
}

/** What commander hands the stress action. */
export interface StressFlags {
  protocol?: string[];
  duration?: number;
  ops?: number;
  seed?: number;
  threads?: number;
  events?: EventName[];
  pages?: number;
  devices?: number;
  subs?: number;
  watchdog?: number;
  deadlock?: number;
  widen?: boolean;
  json?: string;
  junit?: string;
  html?: string;
  quiet?: boolean;
  mode?: 'free' | 'controlled';
  strategy?: 'pct' | 'random';
  depth?: number;
  schedules?: number;
  steps?: number;
  bound?: number;
  saveFailures?: string;
  seeds?: number;
  shard?: { index: number; count: number };
  budget?: number;
}

/** Flags -> StressOptions (without the callbacks). Cross-flag checks throw ConfigError. */
export function toStressOptions(flags: StressFlags, protocols: string[]): StressOptions {
  const opts: StressOptions = { protocol: protocols.length === 1 ? protocols[0] : protocols };
  if (flags.duration !== undefined) opts.durationMs = flags.duration;
  // --ops alone: no deadline, the run ends at the op budget (or when the watchdog fires)
  if (flags.ops !== undefined) opts.ops = flags.ops;
  if (flags.seed !== undefined) opts.seed = flags.seed;
  if (flags.threads !== undefined) opts.threads = flags.threads;
  if (flags.events !== undefined) opts.events = flags.events;
  if (flags.pages !== undefined) opts.pages = flags.pages;
  if (flags.devices !== undefined) opts.devices = flags.devices;
  if (flags.subs !== undefined) opts.subsPerDevice = flags.subs;
  if (flags.watchdog !== undefined) opts.watchdogMs = flags.watchdog;
  if (flags.deadlock !== undefined) opts.deadlockMs = flags.deadlock;
  if (flags.widen === false) opts.widenWindows = false;
  const controlledOnly = (['strategy', 'depth', 'schedules', 'steps', 'bound', 'saveFailures'] as const).filter(
    (k) => flags[k] !== undefined,
  );
  if (flags.mode !== 'controlled' && controlledOnly.length)
    throw new ConfigError(`--${controlledOnly[0].replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} needs --mode controlled`);
  if (flags.mode === 'controlled') {
    if (flags.ops !== undefined)
      throw new ConfigError('--ops is for free-running mode: use --schedules N or --duration T with --mode controlled');
    if (flags.schedules !== undefined && flags.duration !== undefined) throw new ConfigError('give --schedules or --duration, not both');
    opts.mode = 'controlled';
    if (flags.strategy !== undefined) opts.strategy = flags.strategy;
    if (flags.depth !== undefined) opts.depth = flags.depth;
    if (flags.schedules !== undefined) opts.schedules = flags.schedules;
    if (flags.steps !== undefined) opts.steps = flags.steps;
    if (flags.bound !== undefined) opts.boundSteps = flags.bound;
  }
  const pages = opts.pages ?? (flags.mode === 'controlled' ? 64 : DEFAULTS.pages);
  const subs = opts.subsPerDevice ?? Math.min(DEFAULTS.subsPerDevice, pages / LIMITS.pages.multipleOf);
  if (pages % subs !== 0 || pages < subs) throw new ConfigError(`--pages (${pages}) must be a multiple of --subs (${subs})`);
  const outs = [flags.json, flags.junit, flags.html].filter((f) => f !== undefined);
  if (new Set(outs).size !== outs.length) throw new ConfigError('--json, --junit and --html must name different files');
  if (flags.budget !== undefined && flags.duration !== undefined)
    throw new ConfigError('--budget and --duration both set how long protocols run: give one (--budget divides its time among units)');
  return opts;
}
