/**
 * cli/mutate-report.ts — `hmmsim mutate`'s outputs: the mutant table with the score and each
 * survivor's coverage (text), the JSON report (the MutationReport itself) and JUnit (one
 * testcase per mutant: a survivor is a failure, a harness failure an error, an equivalent mutant
 * skipped). See docs/mutation.md.
 */
import type { MutantResult, MutationReport } from '../mutate/run.js';
import { KIND_SHORT } from '../api/kinds.js';
import { formatMs, int, renderTable } from './format.js';
import { junitSuite, junitTime, xmlText } from './report.js';

const short = (k: string) => (KIND_SHORT as Record<string, string>)[k] ?? k;

/** Coverage of one mutant's run, in words. */
export function coverageText(m: MutantResult): string {
  const c = m.coverage;
  const changed = c.effective !== undefined && c.effective !== c.fired ? `, changed what the protocol saw ${int(c.effective)}` : '';
  const reached = c.fired === 0 ? 'never reached' : `reached ${int(c.fired)} time${c.fired === 1 ? '' : 's'}${changed}`;
  const extra = c.coverage !== undefined ? `; coverage ${JSON.stringify(c.coverage)}` : '';
  return `${reached} in ${int(c.ops)} ops, ${int(c.retries)} retries, ${formatMs(m.durationMs)}${extra}`;
}

export function formatScore(r: MutationReport): string {
  const judged = r.killed + r.survived;
  const pct = r.score === null ? '-' : `${Math.floor(r.score * 1000) / 10}%`;
  const errors = r.errors ? `, ${r.errors} harness error${r.errors > 1 ? 's' : ''}` : '';
  const equivalent = r.equivalent ? `; ${r.equivalent} equivalent (not scored)` : '';
  return `mutation score ${pct}: ${r.killed} of ${judged} killed, ${r.survived} survived${errors}${equivalent}`;
}

/** The table, a legend for short kind names, the score, and each survivor's coverage. */
export function formatMutationReport(r: MutationReport): string {
  const out: string[] = [];
  const b = r.baseline;
  const sites = `${b.sites.length} site${b.sites.length === 1 ? '' : 's'}`;
  const run = `${int(b.ops)} ops, ${int(b.retries)} retries, ${formatMs(b.durationMs)}`;
  out.push(`${r.protocol}: ${sites} reached by the unmutated run (${run}), verdict ${b.verdict}`);
  if (b.verdict === 'fail') {
    const what = b.error ? `failed: ${b.error}` : `violated (${Object.keys(b.violations).join(', ')})`;
    out.push(`the unmutated protocol ${what}: mutation testing needs a protocol that passes this workload`);
    return out.join('\n');
  }
  if (!r.mutants.length) return [...out, 'no mutants: no callback reached a mutable operation'].join('\n');
  const used = new Set<string>();
  const rows = r.mutants.map((m) => {
    const kinds = m.kinds.map((k) => {
      if (short(k) !== k) used.add(k);
      return short(k);
    });
    return [String(m.id), m.description, m.outcome, kinds.join(',') || '-', formatMs(m.killMs)];
  });
  out.push('');
  out.push(renderTable(['#', 'mutant', 'outcome', 'kinds', 'killed at'], rows, ['r', 'l', 'l', 'l', 'r']));
  if (used.size) out.push([...used].map((k) => `${short(k)} = ${k}`).join('; '));
  out.push('');
  out.push(formatScore(r));
  const survivors = r.mutants.filter((m) => m.outcome === 'survived');
  if (survivors.length) {
    out.push('survivors, with what their runs exercised (never reached: not exercised; reached often: the operation may not be needed):');
    for (const m of survivors) out.push(`  ${m.id}. ${m.description}: ${coverageText(m)}`);
  }
  const equivalent = r.mutants.filter((m) => m.outcome === 'equivalent');
  if (equivalent.length) {
    out.push('equivalent: survivors an equivalence rule recognised from their own run (docs/mutation.md, "Equivalent mutants"):');
    for (const m of equivalent) out.push(`  ${m.id}. ${m.description}: ${m.equivalence}`);
  }
  for (const m of r.mutants.filter((x) => x.outcome === 'error')) out.push(`  ${m.id}. ${m.description}: harness error: ${m.error}`);
  return out.join('\n');
}

/** JUnit: one testcase per mutant; survived = failure (the tests missed it), error = harness failure. */
export function mutationJUnit(r: MutationReport, timestamp = new Date()): string {
  const total = r.mutants.reduce((s, m) => s + m.durationMs, 0);
  const { root, suite, props } = junitSuite({
    name: `hmmsim mutate ${r.protocol}`,
    tests: r.mutants.length,
    failures: r.survived,
    errors: r.errors,
    skipped: r.equivalent ?? 0,
    totalMs: total,
    timestamp,
    properties: { version: r.version, seed: String(r.seed) },
  });
  props.ele('property', { name: 'score', value: r.score === null ? '' : String(r.score) });
  props.ele('property', { name: 'config', value: xmlText(JSON.stringify(r.config)) });
  for (const m of r.mutants) {
    const tc = suite.ele('testcase', {
      classname: `hmmsim.mutate.${r.protocol}`,
      name: xmlText(m.description),
      time: junitTime(m.durationMs),
    });
    if (m.outcome === 'survived') tc.ele('failure', { message: xmlText(`survived: ${coverageText(m)}`), type: 'MutantSurvived' });
    else if (m.outcome === 'equivalent') tc.ele('skipped', { message: xmlText(`equivalent: ${m.equivalence ?? ''}`) });
    else if (m.outcome === 'error')
      tc.ele('error', { message: xmlText((m.error ?? '').split('\n')[0]), type: 'HarnessFailure' }).txt(xmlText(m.error ?? ''));
    const out = m.outcome === 'killed' ? `killed by ${m.kinds.join(', ')} at ${formatMs(m.killMs)}\n${m.witness ?? ''}` : coverageText(m);
    tc.ele('system-out').txt(xmlText(out));
  }
  return root.end({ prettyPrint: true }) + '\n';
}
