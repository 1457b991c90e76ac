/**
 * cli/report.ts — the machine-readable reports: `--json FILE` and `--junit FILE`.
 * Both are written atomically: a temporary file in the same directory, fsync, rename. A reader
 * sees the old file or the whole new one, never a part.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { create } from 'xmlbuilder2';
import { VIOLATION_KINDS } from '../api/kinds.js';
import type { ProtocolResult, RunResult, ViolationKind } from '../api/types.js';
import { asExpected, formatExpect, verdictReason } from './format.js';

/** One protocol in the JSON report (the names are an interface: scripts rely on them). */
export interface JsonProtocol extends Omit<ProtocolResult, 'violations' | 'error'> {
  /** Every violation kind, 0 when none. */
  violations: Record<ViolationKind, number>;
  /** A harness failure (worker crash, plugin threw), else null. */
  error: NonNullable<ProtocolResult['error']> | null;
}

export interface JsonReport {
  version: string;
  seed: number;
  config: Record<string, unknown>;
  protocols: JsonProtocol[];
}

export function toJsonReport(r: RunResult): JsonReport {
  return {
    version: r.version,
    seed: r.seed,
    config: r.config,
    protocols: r.protocols.map((p) => {
      const violations = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, p.violations[k] ?? 0])) as Record<ViolationKind, number>;
      // kinds a newer runner might add still get through
      for (const [k, v] of Object.entries(p.violations)) if (!(k in violations)) (violations as Record<string, number>)[k] = v ?? 0;
      return {
        name: p.name,
        description: p.description,
        expect: p.expect,
        verdict: p.verdict,
        ops: p.ops,
        opsPerSec: p.opsPerSec,
        retries: p.retries,
        violations,
        detections: Object.fromEntries(VIOLATION_KINDS.map((k) => [k, p.detections?.[k] ?? 0])),
        coverage: p.coverage ?? {},
        firstViolationMs: p.firstViolationMs ?? null,
        durationMs: p.durationMs,
        roleOps: p.roleOps,
        witnesses: p.witnesses,
        ...(p.controlled ? { controlled: p.controlled } : {}),
        error: p.error ? { ...p.error } : null,
      };
    }),
  };
}

// characters XML 1.0 cannot carry at all
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what it must find
const XML_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
export const xmlText = (s: string) => s.replace(XML_BAD, '?');

/** Seconds, as JUnit writes them. */
export const junitTime = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

export interface JUnitSuiteHead {
  name: string;
  tests: number;
  failures: number;
  errors: number;
  /** Testcases reported <skipped> (default 0). */
  skipped?: number;
  totalMs: number;
  timestamp: Date;
  properties: Record<string, string>;
}

/** A JUnit document with one <testsuite> and its <properties>; the caller adds the testcases. */
export function junitSuite(head: JUnitSuiteHead) {
  const counts = { tests: String(head.tests), failures: String(head.failures), errors: String(head.errors) };
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: 'hmmsim',
    ...counts,
    time: junitTime(head.totalMs),
  });
  const suite = root.ele('testsuite', {
    name: head.name,
    ...counts,
    skipped: String(head.skipped ?? 0),
    time: junitTime(head.totalMs),
    timestamp: head.timestamp.toISOString().replace(/\.\d{3}Z$/, ''),
  });
  const props = suite.ele('properties');
  for (const [name, value] of Object.entries(head.properties)) props.ele('property', { name, value });
  return { root, suite, props };
}

/**
 * Write each report whose file was asked for (rendered only then), atomically. A file that cannot
 * be written is named on stderr through `onError`; returns false if any could not be.
 */
export function writeReports(
  outputs: readonly (readonly [string | undefined, () => string])[],
  onError: (message: string) => void,
): boolean {
  let ok = true;
  for (const [file, render] of outputs) {
    if (!file) continue;
    try {
      writeFileAtomic(file, render());
    } catch (err) {
      onError(`hmmsim: cannot write ${file}: ${(err as Error).message}`);
      ok = false;
    }
  }
  return ok;
}

/** JUnit XML: one <testcase> per protocol; <failure> (with the witness) when the verdict differs, <error> on a harness failure. */
export function toJUnit(r: RunResult, timestamp = new Date()): string {
  const ps = r.protocols;
  const errors = ps.filter((p) => p.error).length;
  const failures = ps.filter((p) => !p.error && !asExpected(p)).length;
  const total = ps.reduce((s, p) => s + (p.durationMs ?? 0), 0);
  const { root, suite, props } = junitSuite({
    name: 'hmmsim stress',
    tests: ps.length,
    failures,
    errors,
    totalMs: total,
    timestamp,
    properties: { version: r.version, seed: String(r.seed) },
  });
  props.ele('property', { name: 'config', value: xmlText(JSON.stringify(r.config)) });

  for (const p of ps) {
    const tc = suite.ele('testcase', { classname: 'hmmsim', name: p.name, time: junitTime(p.durationMs ?? 0) });
    const counts =
      Object.entries(p.violations)
        .filter(([, n]) => (n ?? 0) > 0)
        .map(([k, n]) => `${k}=${n}`)
        .join(' ') || 'none';
    const summary =
      `expect ${formatExpect(p.expect)}; ops ${p.ops}; ops/s ${Math.round(p.opsPerSec)}; retries ${p.retries}; ` +
      `violations ${counts}; first violation ${p.firstViolationMs === null ? '-' : `${p.firstViolationMs} ms`}; seed ${r.seed}`;
    if (p.error) {
      tc.ele('error', { message: xmlText(p.error.message.split('\n')[0]), type: 'HarnessFailure' }).txt(
        xmlText(p.error.stack ?? p.error.message),
      );
    } else if (!asExpected(p)) {
      const w = p.witnesses[0];
      tc.ele('failure', {
        message: xmlText(verdictReason(p) ?? 'verdict differs from expectation'),
        type: w ? w.kind : 'ExpectationNotMet',
      }).txt(xmlText(w ? `${w.text.trimEnd()}\n\n${summary}` : summary));
    }
    tc.ele('system-out').txt(xmlText(p.witnesses[0] && p.verdict === 'pass' ? `${summary}\n\n${p.witnesses[0].text.trimEnd()}` : summary));
  }
  return root.end({ prettyPrint: true }) + '\n';
}

/** Write `data` to `file` so that nothing partial is ever visible: temp file beside it, fsync, rename. */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const buf = Buffer.from(data, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw err;
  }
}
