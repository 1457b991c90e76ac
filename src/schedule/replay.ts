/**
 * replay.ts — run a recorded schedule again: the same threads through the same switches. A
 * replay reproduces the violation and its witness byte for byte; when the schedule names a
 * thread that cannot run at its step (or the running thread blocks where the schedule has no
 * switch), the replay stops there and says so (divergence) instead of running something else.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../api/errors.js';
import type { Expectation, RunResult, Schedule, ViolationKind, Witness } from '../api/types.js';
import { Executor, fileHash, loadProtocol, type LoadedProtocol, type Outcome } from './executor.js';
import { checkSchedule, replayConfig, rerunCommand, workloadOf } from './schedule.js';
import { stepsFor } from './run.js';

/** One stored failure: its schedule and the witness it produced when recorded. */
export interface StoredFailure {
  schedule: Schedule;
  witness: Witness;
  /** Where it came from (file, index). */
  where: string;
}

export interface ReplayResult {
  where: string;
  protocol: string;
  expect: Expectation;
  /** The kind recorded with the schedule. */
  recordedKind: ViolationKind;
  /** What the replay found (undefined: no violation). */
  kind?: ViolationKind;
  /** Same kind, same witness text, byte for byte. */
  identical: boolean;
  /** The replay left the schedule: at this step the named thread could not run (thread -1: the running thread blocked). */
  divergence?: { step: number; thread: number };
  witness?: Witness;
  status: Outcome['status'];
  /** Corpus replay: strict replay diverged at this step, and `kind` is what a lenient replay found. */
  lenientAfterDivergence?: number;
  /** For a corpus: does this still match the protocol's expectation (a broken protocol still
   *  violates with the recorded kind, a sound one does not violate)? */
  ok: boolean;
}

/** Failures with schedules in a JSON report (hmmsim stress --mode controlled --json, or a corpus file). */
export function failuresIn(report: RunResult, where: string): StoredFailure[] {
  const out: StoredFailure[] = [];
  for (const p of report.protocols ?? [])
    for (const w of p.witnesses ?? []) if (w.schedule) out.push({ schedule: w.schedule, witness: w, where: `${where}#${out.length}` });
  return out;
}

export function readReport(file: string): RunResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as RunResult;
  } catch {
    throw new ConfigError(`${file} is not JSON: give a report written by hmmsim stress --mode controlled --json`);
  }
}

/** Every failure stored in a report file, or in every .json file of a directory (a corpus). */
export function loadFailures(path: string): StoredFailure[] {
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    throw new ConfigError(`${path} does not exist: give a report (.json) or a corpus directory`);
  }
  const files = dir
    ? readdirSync(path)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const out = files.flatMap((f) => failuresIn(readReport(f), f));
  if (!out.length) throw new ConfigError(`${path} holds no schedule: record one with hmmsim stress --mode controlled --json FILE`);
  return out;
}

/** Load a stored failure's protocol, refusing a schedule whose version or protocol file changed. */
export async function protocolOf(f: StoredFailure): Promise<LoadedProtocol> {
  const s = checkSchedule(f.schedule, f.where);
  const p = await loadProtocol(s.protocol);
  if (s.protocolHash !== undefined && p.hash !== s.protocolHash)
    throw new ConfigError(
      `${f.where}: ${s.protocol} changed since the schedule was recorded (sha256 ${fileHash(new URL(p.url)).slice(0, 12)}, recorded ${s.protocolHash.slice(0, 12)}): record it again`,
    );
  return p;
}

/** Run one stored schedule on `exec` (strict, or lenient with another switch list while shrinking). */
export async function runStored(exec: Executor, p: LoadedProtocol, s: Schedule, switches = s.switches, lenient = false): Promise<Outcome> {
  const w = workloadOf(s);
  const cfg = replayConfig(s, stepsFor(p, s.config.steps, s.config.boundSteps), lenient, switches);
  const seedRun = rerunCommand(s.protocol, w, { ...cfg, strategy: s.strategy, steps: s.config.steps }, p.proto.roles);
  const rerun = s.shrunk ? `hmmsim replay <this report> (shrunk from: ${seedRun})` : seedRun;
  return exec.run(p, w, cfg, rerun);
}

export function judge(f: StoredFailure, p: LoadedProtocol, out: Outcome): ReplayResult {
  const expect = p.proto.expect ?? 'sound';
  const kind = out.status === 'divergence' ? undefined : out.kind;
  const identical = kind === f.witness.kind && out.witness?.text === f.witness.text;
  const ok = expect === 'sound' ? kind === undefined && out.status !== 'divergence' : kind !== undefined && expect.violates.includes(kind);
  return {
    where: f.where,
    protocol: p.proto.name,
    expect,
    recordedKind: f.witness.kind,
    kind,
    identical,
    status: out.status,
    ok,
    ...(out.divergence ? { divergence: out.divergence } : {}),
    ...(out.witness && kind ? { witness: out.witness } : {}),
  };
}

export interface ReplayOptions {
  /** Only this failure of a report (0-based, across its protocols); default: every one. */
  index?: number;
  /** A corpus: a schedule that diverges (the harness changed under it) is replayed again
   *  leniently and judged by the violation kind alone (`lenientAfterDivergence` in the result). */
  corpus?: boolean;
}

/**
 * Replay the failures stored in a report file, a corpus directory, or given directly. Resolves
 * to one result per failure; throws ConfigError for a schedule that cannot be replayed (another
 * hmmsim version, a changed protocol file, a malformed report).
 */
export async function replay(source: string | StoredFailure[], opts: ReplayOptions = {}): Promise<ReplayResult[]> {
  let failures = typeof source === 'string' ? loadFailures(source) : source;
  if (opts.index !== undefined) {
    if (!Number.isInteger(opts.index) || opts.index < 0 || opts.index >= failures.length)
      throw new ConfigError(
        `--index ${opts.index} is out of range: the report holds ${failures.length} schedule(s), 0..${failures.length - 1}`,
      );
    failures = [failures[opts.index]];
  }
  const loaded: LoadedProtocol[] = [];
  for (const f of failures) loaded.push(await protocolOf(f));
  const out: ReplayResult[] = [];
  const byThreads = new Map<number, Executor>();
  try {
    for (let i = 0; i < failures.length; i++) {
      const n = failures[i].schedule.config.roles.length;
      let exec = byThreads.get(n);
      if (!exec) byThreads.set(n, (exec = new Executor(n)));
      const strict = judge(failures[i], loaded[i], await runStored(exec, loaded[i], failures[i].schedule));
      if (opts.corpus && strict.divergence) {
        const lenient = judge(
          failures[i],
          loaded[i],
          await runStored(exec, loaded[i], failures[i].schedule, failures[i].schedule.switches, true),
        );
        out.push({ ...lenient, identical: false, lenientAfterDivergence: strict.divergence.step });
      } else out.push(strict);
    }
  } finally {
    for (const e of byThreads.values()) await e.close();
  }
  return out;
}
