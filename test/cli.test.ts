/**
 * The CLI end to end: spawns the real binary (`node bin/hmmsim.js`, after `npm run build`) and
 * checks exit codes, output, --json against the documented schema, --junit as well-formed XML,
 * plugins loaded from paths, and every bad-input case. Stress runs are kept to ~300 ms.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { convert } from 'xmlbuilder2';
import { ALL_PROTOCOLS } from '../dist/protocols/builtin.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'hmmsim.js');
const FIX = join(ROOT, 'test', 'fixtures');
const KINDS = [
  'device-pte-during-invalidation',
  'use-after-free',
  'write-to-readonly',
  'page-table-use-after-free',
  'deadlock',
  'stall',
  'access-to-protnone',
  'contract',
];
const BUILTINS = ['interval-v5.5', 'odp-v5.4', 'kvm', 'hmm-v5.2'];
const SHORT = ['--duration', '300ms', '--quiet'];

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function hmmsim(args: string[], timeoutMs = 60_000): Out {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'hmmsim-cli-'));

/** The --json schema (docs/cli.md): throws on the first mismatch. */
function checkJsonReport(j: any): void {
  const fail = (m: string) => {
    throw new Error(`JSON report: ${m}`);
  };
  if (typeof j !== 'object' || j === null) fail('not an object');
  if (typeof j.version !== 'string' || !/^\d+\.\d+\.\d+/.test(j.version)) fail('version');
  if (!Number.isInteger(j.seed) || j.seed < 0 || j.seed > 2 ** 32 - 1) fail('seed');
  if (typeof j.config !== 'object' || j.config === null) fail('config');
  if (!Array.isArray(j.protocols) || j.protocols.length === 0) fail('protocols');
  for (const p of j.protocols) {
    if (typeof p.name !== 'string' || !p.name) fail('name');
    const e = p.expect;
    if (!(e === 'sound' || (e && Array.isArray(e.violates) && e.violates.every((k: string) => KINDS.includes(k)))))
      fail(`${p.name}.expect`);
    if (!['pass', 'fail', 'inconclusive'].includes(p.verdict)) fail(`${p.name}.verdict`);
    for (const k of ['ops', 'opsPerSec', 'retries']) if (typeof p[k] !== 'number' || !(p[k] >= 0)) fail(`${p.name}.${k}`);
    if (typeof p.violations !== 'object' || p.violations === null) fail(`${p.name}.violations`);
    for (const k of KINDS) if (!Number.isInteger(p.violations[k]) || p.violations[k] < 0) fail(`${p.name}.violations.${k}`);
    if (!(p.firstViolationMs === null || (typeof p.firstViolationMs === 'number' && p.firstViolationMs >= 0)))
      fail(`${p.name}.firstViolationMs`);
    if (!Array.isArray(p.witnesses)) fail(`${p.name}.witnesses`);
    for (const w of p.witnesses) {
      if (!KINDS.includes(w.kind) || typeof w.text !== 'string' || !Array.isArray(w.events) || typeof w.atMs !== 'number')
        fail(`${p.name}.witness`);
    }
    const total = KINDS.reduce((s, k) => s + p.violations[k], 0);
    if (total > 0 !== (p.firstViolationMs !== null)) fail(`${p.name}: firstViolationMs vs violations`);
    if (!(p.error === null || (typeof p.error === 'object' && typeof p.error.message === 'string'))) fail(`${p.name}.error`);
  }
}

/** Parse JUnit XML back (throws if not well-formed) and return its testcases. */
function parseJUnit(xml: string): { suites: any; cases: any[] } {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
  const doc = convert(xml, { format: 'object' }) as any;
  expect(doc.testsuites).toBeDefined();
  const suite = doc.testsuites.testsuite;
  const cases = Array.isArray(suite.testcase) ? suite.testcase : [suite.testcase];
  return { suites: doc.testsuites, cases };
}

const unescapeXml = (t: string) =>
  t
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')) || !existsSync(join(ROOT, 'dist', 'run', 'runner.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it)');
});

describe('hmmsim help, version, list', () => {
  it('--version prints the package version', () => {
    const r = hmmsim(['--version']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
  it('--help, stress --help and help stress explain usage, exit codes and what a seed reproduces', () => {
    const top = hmmsim(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: hmmsim/);
    expect(top.stdout).toMatch(/stress/);
    expect(top.stdout).toMatch(/list/);
    expect(top.stdout).toMatch(/interleaving of real threads .*cannot be reproduced/s);
    for (const args of [
      ['stress', '--help'],
      ['help', 'stress'],
    ]) {
      const r = hmmsim(args);
      expect(r.code).toBe(0);
      for (const flag of [
        '--protocol',
        '--duration',
        '--ops',
        '--seed',
        '--threads',
        '--events',
        '--pages',
        '--devices',
        '--json',
        '--junit',
        '--quiet',
      ])
        expect(r.stdout).toContain(flag);
      expect(r.stdout).toMatch(/cannot be reproduced/);
      expect(r.stdout).toMatch(/Exit codes: 0 .*1 .*\n?2 .*3 /s);
    }
    expect(hmmsim(['list', '--help']).code).toBe(0);
  });
  it('list shows every built-in protocol with its expectation', () => {
    const r = hmmsim(['list']);
    expect(r.code).toBe(0);
    for (const name of BUILTINS)
      expect(r.stdout).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\s+(sound|violates [a-z,-]+)\\s+\\S`, 'm'));
    expect(r.stdout).toMatch(/^hmm-v5\.2\s+violates use-after-free/m);
  });
});

describe('hmmsim stress: verdicts and exit codes', () => {
  it('exit 0: a sound built-in, with --json and --junit written atomically', () => {
    const dir = tmp();
    const json = join(dir, 'r.json');
    const junit = join(dir, 'j.xml');
    const r = hmmsim([
      'stress',
      '--protocol',
      'kvm',
      ...SHORT,
      '--seed',
      '42',
      '--events',
      'munmap,migrate,oom',
      '--json',
      json,
      '--junit',
      junit,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^protocol\s+expect\s+ops\s+ops\/s\s+retries\s+violations\s+first\s+verdict$/m);
    expect(r.stdout).toMatch(/^kvm\s+sound\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+0\s+-\s+(pass|inconclusive)$/m); // a 300 ms run may miss a race window
    expect(r.stdout).toMatch(/seed 42 \(rerun: hmmsim stress --protocol kvm --duration 300ms --events munmap,migrate,oom --seed 42/);
    expect(r.stdout).not.toContain('\u001b'); // not a TTY: no progress, no escapes
    const j = JSON.parse(readFileSync(json, 'utf8'));
    checkJsonReport(j);
    expect(j.seed).toBe(42);
    expect(j.protocols).toHaveLength(1);
    expect(j.protocols[0]).toMatchObject({
      name: 'kvm',
      expect: 'sound',
      verdict: expect.stringMatching(/^(pass|inconclusive)$/),
      firstViolationMs: null,
      witnesses: [],
      error: null,
    });
    expect(Object.keys(j.protocols[0].coverage)).toEqual([
      'aba',
      'inval-during-snapshot',
      'inval-during-walk',
      'zap-during-dma',
      'nonblock-failed',
    ]);
    expect(j.protocols[0].ops).toBeGreaterThan(0);
    const { suites, cases } = parseJUnit(readFileSync(junit, 'utf8'));
    expect(suites['@tests']).toBe('1');
    expect(suites['@failures']).toBe('0');
    expect(cases[0]['@name']).toBe('kvm');
    expect(cases[0].failure).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['j.xml', 'r.json']); // no temp files left
  });

  it('exit 0: a sound plugin from a path, next to a built-in', () => {
    const dir = tmp();
    const r = hmmsim([
      'stress',
      '--protocol',
      'test/fixtures/sound-plugin.mjs',
      '--protocol',
      'interval-v5.5',
      ...SHORT,
      '--json',
      join(dir, 'r.json'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    checkJsonReport(j);
    expect(j.protocols.map((p: any) => p.name)).toEqual(['fixture-sound', 'interval-v5.5']);
    expect(j.protocols.every((p: any) => p.verdict === 'pass' || p.verdict === 'inconclusive')).toBe(true);
  });

  it('exit 1: a broken plugin (judged sound) shows its witness; JSON and JUnit carry it', () => {
    const dir = tmp();
    const json = join(dir, 'r.json');
    const junit = join(dir, 'j.xml');
    const r = hmmsim([
      'stress',
      '--protocol',
      join(FIX, 'broken-plugin.mjs'),
      '--duration',
      '500ms',
      '--quiet',
      '--seed',
      '7',
      '--json',
      json,
      '--junit',
      junit,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^fixture-no-retry\s+sound\s.*FAIL$/m);
    expect(r.stdout).toMatch(/fixture-no-retry: expected sound, but saw/);
    expect(r.stdout).toMatch(/^--- fixture-no-retry: [a-z-]+ \(NOT expected; first of [\d,]+, at [\d.]+ m?s\) ---$/m);
    expect(r.stdout).toMatch(/seed 7/);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    checkJsonReport(j);
    const p = j.protocols[0];
    expect(p.verdict).toBe('fail');
    expect(p.expect).toBe('sound');
    expect(p.witnesses.length).toBeGreaterThan(0);
    expect(r.stdout).toContain(p.witnesses[0].text.trimEnd().split('\n')[1]);
    const { suites, cases } = parseJUnit(readFileSync(junit, 'utf8'));
    expect(suites['@failures']).toBe('1');
    expect(cases[0].failure['@type']).toBe(p.witnesses[0].kind);
    expect(unescapeXml(cases[0].failure['#'])).toContain(p.witnesses[0].text.trimEnd().split('\n')[1]);
  });

  it('exit 0: the same broken scheme declaring its violations matches its expectation', () => {
    const r = hmmsim(['stress', '--protocol', 'test/fixtures/broken-declared-plugin.mjs', '--duration', '500ms', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^fixture-no-retry-declared\s+violates uaf,pte-in-inval,write-ro,contract,protnone\s.*pass$/m);
    expect(r.stdout).toMatch(/^--- fixture-no-retry-declared: [a-z-]+ \(expected; /m);
  });

  it('exit 3: a plugin that throws is a harness failure, with its error and stack; reports still written', () => {
    const dir = tmp();
    const json = join(dir, 'r.json');
    const junit = join(dir, 'j.xml');
    const r = hmmsim(['stress', '--protocol', 'test/fixtures/throwing-plugin.mjs,kvm', ...SHORT, '--json', json, '--junit', junit]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^fixture-throws\s.*ERROR$/m);
    expect(r.stdout).toMatch(/^kvm\s.*(pass|inconclusive)$/m); // the other protocol still ran
    expect(r.stderr).toMatch(/fixture populate exploded/);
    expect(r.stderr).toMatch(/at .*throwing-plugin\.mjs:\d+/);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    checkJsonReport(j);
    expect(j.protocols[0].error.message).toMatch(/fixture populate exploded/);
    expect(j.protocols[1].error).toBeNull();
    const { suites, cases } = parseJUnit(readFileSync(junit, 'utf8'));
    expect(suites['@errors']).toBe('1');
    expect(cases[0].error['@type']).toBe('HarnessFailure');
  });

  it('--ops ends a run by its op budget', () => {
    const dir = tmp();
    const r = hmmsim(['stress', '-p', 'kvm', '--ops', '20000', '--quiet', '--json', join(dir, 'r.json')]);
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(j.protocols[0].ops).toBeGreaterThanOrEqual(20000);
    expect(j.config.ops).toBe(20000);
  });
});

describe('bad input: one line on stderr, exit 2, no stack, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown protocol lists the names', ['stress', '-p', 'frob'], /unknown protocol 'frob'.*interval-v5\.5, odp-v5\.4, kvm, hmm-v5\.2/],
    ['missing --protocol', ['stress'], /required option '-p, --protocol <spec>'/],
    ['missing plugin file', ['stress', '-p', './no-such-plugin.mjs'], /protocol file \.\/no-such-plugin\.mjs not found/],
    ['plugin lacking the API', ['stress', '-p', 'test/fixtures/no-api-plugin.mjs'], /lacks method populate/],
    [
      'config not fitting memory',
      ['stress', '-p', 'kvm', '--pages', '16777216', '--duration', '300ms'],
      /shared memory.*maximum|does not fit|lower pages/,
    ],
    ['non-numeric pages', ['stress', '-p', 'kvm', '--pages', 'many'], /--pages.*'many' is invalid.*whole number/],
    ['pages not a multiple of 64', ['stress', '-p', 'kvm', '--pages', '100'], /multiple of 64/],
    ['pages out of range', ['stress', '-p', 'kvm', '--pages', '33554432'], /pages must be from 64 to 16777216/],
    ['non-numeric seed', ['stress', '-p', 'kvm', '--seed', 'abc'], /--seed.*'abc' is invalid/],
    ['negative seed', ['stress', '-p', 'kvm', '--seed', '-1'], /--seed.*'-1' is invalid/],
    ['seed out of range', ['stress', '-p', 'kvm', '--seed', '4294967296'], /seed must be from 0 to 4294967295/],
    ['threads below the roles', ['stress', '-p', 'kvm', '--threads', '2'], /threads must be from 4 to 128 \(every role needs a thread\)/],
    ['threads fractional', ['stress', '-p', 'kvm', '--threads', '4.5'], /--threads.*'4\.5' is invalid/],
    ['devices out of range', ['stress', '-p', 'kvm', '--devices', '0'], /devices must be from 1 to 64/],
    ['ops zero', ['stress', '-p', 'kvm', '--ops', '0'], /ops must be from 1/],
    ['duration without unit', ['stress', '-p', 'kvm', '--duration', '3'], /--duration.*add a unit/],
    ['duration bad unit', ['stress', '-p', 'kvm', '--duration', '3 weeks'], /--duration.*like 500ms, 3s or 2m/],
    ['duration zero', ['stress', '-p', 'kvm', '--duration', '0s'], /duration must be from 1ms/],
    [
      'unknown event',
      ['stress', '-p', 'kvm', '--events', 'munmap,explode'],
      /unknown event 'explode': known events are munmap, mprotect, dontneed, migrate, reclaim, cow, oom/,
    ],
    ['empty events', ['stress', '-p', 'kvm', '--events', ','], /at least one event/],
    ['pages vs subs', ['stress', '-p', 'kvm', '--pages', '64', '--subs', '128'], /--pages \(64\) must be a multiple of --subs \(128\)/],
    ['unknown option', ['stress', '-p', 'kvm', '--protocl', 'x'], /unknown option '--protocl'/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    [
      'json into a missing directory',
      ['stress', '-p', 'kvm', '--json', '/no/such/dir/r.json'],
      /--json.*directory \/no\/such\/dir does not exist/,
    ],
  ];
  for (const [what, args, re] of cases) {
    it(what, () => {
      const r = hmmsim(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^hmmsim: /);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
  it('a config error leaves no report behind', () => {
    const dir = tmp();
    const r = hmmsim(['stress', '-p', 'kvm', '--pages', '16777216', '--json', join(dir, 'r.json'), '--junit', join(dir, 'j.xml')]);
    expect(r.code).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('hmmsim with no arguments', () => {
  it('runs the default campaign: every built-in, a verdict table, witnesses, exit 0', () => {
    const listed = hmmsim(['list'])
      .stdout.split('\n')
      .slice(2)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean);
    expect(listed.length).toBeGreaterThanOrEqual(BUILTINS.length);
    // the campaign is `--protocol all`: every built-in outside history/ (those run with `--protocol history`)
    const names = listed.filter((n) => (ALL_PROTOCOLS as readonly string[]).includes(n));
    expect(names.length).toBe(ALL_PROTOCOLS.length);
    const t0 = Date.now();
    const r = hmmsim([], 60_000);
    expect(r.stderr).toBe('');
    for (const name of names) expect(r.stdout).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\s`, 'm'));
    expect(r.stdout).toMatch(/^--- hmm-v5\.2: [a-z-]+ \(expected; first of/m);
    expect(r.stdout, r.stdout).toMatch(new RegExp(`${names.length} protocols: ${names.length} as expected`));
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);
});

describe('hmmsim replay --demo-url', () => {
  it('prints a link that carries the schedule (gzip, base64url) to the browser demo', async () => {
    const file = join(ROOT, 'test', 'corpus', 'hmm-v5.2-use-after-free-b19b3d406e86.json');
    const r = hmmsim(['replay', file, '--quiet', '--demo-url', 'https://example.org/hmmsim/']);
    expect(r.code, r.stderr).toBe(0);
    const link = r.stdout.match(/^demo: (\S+)$/m)![1];
    expect(link.startsWith('https://example.org/hmmsim/?schedule=')).toBe(true);
    const { gunzipSync } = await import('node:zlib');
    const schedule = JSON.parse(gunzipSync(Buffer.from(new URL(link).searchParams.get('schedule')!, 'base64url')).toString());
    expect(schedule).toEqual(JSON.parse(readFileSync(file, 'utf8')).protocols[0].witnesses[0].schedule);
    const bad = hmmsim(['replay', file, '--demo-url', 'ftp://x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
