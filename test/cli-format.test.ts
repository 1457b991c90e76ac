/** The CLI's pure parts: flag parsers, verdict table, witnesses, JSON and JUnit reports. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convert } from 'xmlbuilder2';
import { InvalidArgumentError } from 'commander';
import { parseDuration, parseEvents, parseIntFlag, toStressOptions } from '../src/cli/options.js';
import { resolveProtocols as resolveSpecs, specOf } from '../src/config/protocols.js';
const resolveProtocols = (specs: string[], builtins: string[]) => resolveSpecs(specs, builtins).map(specOf);
import {
  exitCodeFor,
  formatErrors,
  formatList,
  formatSummary,
  formatVerdictTable,
  formatWitnesses,
  verdictReason,
} from '../src/cli/format.js';
import { toJUnit, toJsonReport, writeFileAtomic } from '../src/cli/report.js';
import { ConfigError } from '../src/api/errors.js';
import { VIOLATION_KINDS } from '../src/api/kinds.js';
import { erroredResult, sampleResult } from './fixtures/run-result.js';

describe('flag parsers', () => {
  it('durations need a unit and a sane range', () => {
    expect(parseDuration('3s')).toBe(3000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(' 250MS ')).toBe(250);
    for (const bad of ['3', '3x', '', 's', '-1s', '0ms', '25h', '1e3ms', 'abc'])
      expect(() => parseDuration(bad), bad).toThrow(InvalidArgumentError);
  });
  it('integers: whole, in range, multiples', () => {
    const pages = parseIntFlag('pages', 64, 1 << 24, 64);
    expect(pages('128')).toBe(128);
    expect(pages('1_024')).toBe(1024);
    for (const bad of ['100', '0', 'abc', '1e3', '64.0', '-64', '33554432', ''])
      expect(() => pages(bad), bad).toThrow(InvalidArgumentError);
  });
  it('events: known names, deduplicated', () => {
    expect(parseEvents('munmap,cow,munmap')).toEqual(['munmap', 'cow']);
    expect(parseEvents('oom')).toEqual(['oom']);
    expect(() => parseEvents('munmap,frob')).toThrow(/unknown event 'frob'.*munmap/);
    expect(() => parseEvents(',')).toThrow(InvalidArgumentError);
  });
  it('protocols: names, all, paths; unknown names list the built-ins', () => {
    const builtins = ['hmm-seqcount', 'hmm-no-retry'];
    expect(resolveProtocols(['hmm-seqcount'], builtins)).toEqual(['hmm-seqcount']);
    expect(resolveProtocols(['all', 'hmm-seqcount'], builtins)).toEqual(['all']);
    expect(() => resolveProtocols(['frob'], builtins)).toThrow(ConfigError);
    expect(() => resolveProtocols(['frob'], builtins)).toThrow(/hmm-seqcount, hmm-no-retry/);
    expect(() => resolveProtocols(['./nope.mjs'], builtins)).toThrow(/not found/);
    const here = resolveProtocols(['test/fixtures/run-result.ts'], builtins);
    expect(here[0]).toMatch(/^\/.*run-result\.ts$/);
  });
  it('flags -> StressOptions', () => {
    expect(toStressOptions({ duration: 300, seed: 7, events: ['cow'], pages: 128, widen: false }, ['x'])).toEqual({
      protocol: 'x',
      durationMs: 300,
      seed: 7,
      events: ['cow'],
      pages: 128,
      widenWindows: false,
    });
    expect(toStressOptions({ ops: 1000 }, ['a', 'b'])).toEqual({ protocol: ['a', 'b'], ops: 1000 });
    expect(() => toStressOptions({ pages: 64, subs: 3 }, ['x'])).toThrow(ConfigError);
  });
});

describe('text output', () => {
  it('verdict table: a row per protocol, short kinds, legend, notes', () => {
    const t = formatVerdictTable(sampleResult());
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^protocol\s+expect\s+ops\s+ops\/s\s+retries\s+violations\s+first\s+verdict$/);
    expect(t).toMatch(/hmm-seqcount\s+sound\s+123,456\s+411,520\s+321\s+0\s+-\s+pass/);
    expect(t).toMatch(/hmm-no-retry\s+violates uaf,pte-in-inval .*uaf:12 pte-in-inval:3\s+153 ms\s+pass/);
    expect(t).toMatch(/my-driver .*FAIL/);
    expect(t).toContain('uaf = use-after-free');
    expect(t).toMatch(/my-driver: expected sound, but saw use-after-free x2/);
  });
  it('witnesses: the first of each protocol that violated', () => {
    const w = formatWitnesses(sampleResult());
    expect(w).toContain('--- hmm-no-retry: use-after-free (expected; first of 12, at 153 ms) ---');
    expect(w).toContain('--- my-driver: use-after-free (NOT expected; first of 2, at 40 ms) ---');
    expect(w).toContain('T4 dma      read dev[0x42]');
    expect(w).not.toContain('hmm-seqcount');
  });
  it('reasons, errors, exit codes, summary', () => {
    const r = sampleResult();
    expect(exitCodeFor(r)).toBe(1);
    r.protocols[2].verdict = 'pass';
    expect(exitCodeFor(r)).toBe(0);
    const e = erroredResult();
    expect(exitCodeFor(e)).toBe(3);
    expect(formatErrors(e)).toContain('at populate (file:///x/bad.mjs');
    expect(verdictReason(e.protocols[0])).toMatch(/harness failure: plugin threw: boom \(in populate\)/);
    const missing = { ...r.protocols[1], verdict: 'fail' as const, violations: {}, witnesses: [] };
    expect(verdictReason(missing)).toMatch(/none seen in 5,000 ops/);
    expect(formatSummary(e, 'hmmsim stress --protocol all')).toMatch(
      /3 protocols: 1 as expected, 1 differs from expectation, 1 harness failure\nseed 1234 \(rerun: hmmsim stress --protocol all --seed 1234; .*interleaving/,
    );
  });
  it('list', () => {
    const t = formatList([
      { name: 'a', expect: 'sound', description: 'does a\nmore' },
      { name: 'bb', expect: { violates: ['stall'] }, description: 'does b' },
    ]);
    expect(t.split('\n')).toEqual([
      'protocol  expect          what it does',
      '--------  --------------  ------------',
      'a         sound           does a',
      'bb        violates stall  does b',
    ]);
  });
});

describe('reports', () => {
  it('JSON: the documented fields, every violation kind', () => {
    const j = toJsonReport(erroredResult());
    expect(Object.keys(j)).toEqual(['version', 'seed', 'config', 'protocols']);
    const p = j.protocols[1];
    for (const k of ['name', 'expect', 'verdict', 'ops', 'opsPerSec', 'retries', 'violations', 'firstViolationMs', 'witnesses'])
      expect(p).toHaveProperty(k);
    expect(Object.keys(p.violations).sort()).toEqual([...VIOLATION_KINDS].sort());
    expect(p.violations['use-after-free']).toBe(12);
    expect(p.violations.stall).toBe(0);
    expect(j.protocols[0].error?.message).toBe('plugin threw: boom');
    expect(p.error).toBeNull();
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
  it('JUnit: well-formed, a testcase per protocol, failure with the witness, error with the stack', () => {
    const xml = toJUnit(erroredResult(), new Date('2025-01-02T03:04:05Z'));
    const doc = convert(xml, { format: 'object' }) as any;
    const suite = doc.testsuites.testsuite;
    expect(doc.testsuites['@tests']).toBe('3');
    expect(doc.testsuites['@failures']).toBe('1');
    expect(doc.testsuites['@errors']).toBe('1');
    expect(suite['@timestamp']).toBe('2025-01-02T03:04:05');
    const cases = suite.testcase;
    expect(cases.map((c: any) => c['@name'])).toEqual(['hmm-seqcount', 'hmm-no-retry', 'my-driver']);
    expect(cases[0].error['@type']).toBe('HarnessFailure');
    expect(cases[0].error['#']).toContain('at populate');
    expect(cases[1].failure).toBeUndefined();
    expect(cases[2].failure['@type']).toBe('use-after-free');
    // (xmlbuilder2's object output keeps entities as written)
    const unescapeXml = (t: string) =>
      t
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&');
    expect(unescapeXml(cases[2].failure['#'])).toContain('USE-AFTER-FREE <&> "q"?');
    expect(cases[2].failure['@message']).toMatch(/expected sound/);
    expect(xml).toContain('&lt;&amp;&gt;');
  });
  it('atomic writes leave the whole file and no temp', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmsim-cli-'));
    const f = join(dir, 'r.json');
    writeFileSync(f, 'old');
    writeFileAtomic(f, '{"new":true}\n');
    expect(readFileSync(f, 'utf8')).toBe('{"new":true}\n');
    expect(readdirSync(dir)).toEqual(['r.json']);
    expect(() => writeFileAtomic(join(dir, 'no', 'such.json'), 'x')).toThrow();
    expect(readdirSync(dir)).toEqual(['r.json']);
  });
});
