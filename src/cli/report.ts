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
import { formatExpect, verdictReason } from './format.js';

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

/** JUnit XML: one <testcase> per protocol; <failure> (with the witness) when the verdict differs, <error> on a harness failure. */
export function toJUnit(r: RunResult, timestamp = new Date()): string {
  const ps = r.protocols;
  const errors = ps.filter((p) => p.error).length;
  const failures = ps.filter((p) => !p.error && p.verdict !== 'pass').length;
  const time = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);
  const total = ps.reduce((s, p) => s + (p.durationMs ?? 0), 0);

  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: 'hmmsim',
    tests: String(ps.length),
    failures: String(failures),
    errors: String(errors),
    time: time(total),
  });
  const suite = root.ele('testsuite', {
    name: 'hmmsim stress',
    tests: String(ps.length),
    failures: String(failures),
    errors: String(errors),
    skipped: '0',
    time: time(total),
    timestamp: timestamp.toISOString().replace(/\.\d{3}Z$/, ''),
  });
  const props = suite.ele('properties');
  props.ele('property', { name: 'version', value: r.version });
  props.ele('property', { name: 'seed', value: String(r.seed) });
  props.ele('property', { name: 'config', value: xmlText(JSON.stringify(r.config)) });

  for (const p of ps) {
    const tc = suite.ele('testcase', { classname: 'hmmsim', name: p.name, time: time(p.durationMs ?? 0) });
    const counts = Object.entries(p.violations).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';
    const summary =
      `expect ${formatExpect(p.expect)}; ops ${p.ops}; ops/s ${Math.round(p.opsPerSec)}; retries ${p.retries}; ` +
      `violations ${counts}; first violation ${p.firstViolationMs === null ? '-' : `${p.firstViolationMs} ms`}; seed ${r.seed}`;
    if (p.error) {
      tc.ele('error', { message: xmlText(p.error.message.split('\n')[0]), type: 'HarnessFailure' })
        .txt(xmlText(p.error.stack ?? p.error.message));
    } else if (p.verdict !== 'pass') {
      const w = p.witnesses[0];
      tc.ele('failure', { message: xmlText(verdictReason(p) ?? 'verdict differs from expectation'), type: w ? w.kind : 'ExpectationNotMet' })
        .txt(xmlText(w ? `${w.text.trimEnd()}\n\n${summary}` : summary));
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
      try { closeSync(fd); } catch { /* already failing */ }
    }
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw err;
  }
}
