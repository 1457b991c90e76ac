/**
 * history-table.mjs — the "Kernel history pairs" section of bench/PERFORMANCE.md, from
 * bench/results/history.json (bench/history.mjs). Kept between markers, so that bench/history.mjs
 * can replace it and bench/run.mjs can carry it over when it regenerates the file.
 */

export const BEGIN = '<!-- history-pairs:begin (bench/history.mjs from bench/results/history.json) -->';
export const END = '<!-- history-pairs:end -->';

/** @param {number | null | undefined} x */
const n = (x) => (x === null || x === undefined ? '-' : x.toLocaleString('en-US'));

/** @param {any} row */
function controlledCell(row) {
  if (!row) return 'not run';
  if (row.error) return `error: ${row.error}`;
  if (row.found === 0) return `not found in ${row.seeds} × ${n(row.maxSchedules)} schedules`;
  return `${row.found}/${row.seeds}: ${row.median} / ${row.worst}`;
}

/** @param {Record<string, number>} coverage */
function windows(coverage) {
  const short = {
    aba: 'aba',
    'inval-during-snapshot': 'snap',
    'inval-during-walk': 'walk',
    'zap-during-dma': 'dma',
    'nonblock-failed': 'nonblock',
  };
  return Object.entries(short)
    .filter(([k]) => k in coverage)
    .map(([k, s]) => `${s} ${n(coverage[k])}`)
    .join(', ');
}

/** The section (Markdown, between the markers) for a history.json result. @param {any} res */
export function historyMarkdown(res) {
  const m = res.machine;
  const out = [
    BEGIN,
    `### Kernel history pairs (bench/history.mjs, ${String(res.date).slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `Every bug of \`hmmsim list --history\` (docs/history.md), ${res.seeds} seeds each, measured on ${m.cpu} (${m.cores} cores), Node ${m.node}, ` +
      `load average ${m.loadAtStart.join(', ')} at the start and ${(res.loadAtEnd ?? []).join(', ')} at the end (other sessions shared the cores), ` +
      `${res.elapsedS} s in all. Free-running: seeds 1..${res.seeds}, widening on, the default 2 s watchdog, a ${res.capMs} ms cap, ` +
      'ms to the first violation (a stall or deadlock is judged one watchdog bound after it begins). Controlled: schedules to the first ' +
      'violation, seeds 1, 1001, ..., as `stress --mode controlled --seed S --stop-on-violation` counts them, found/seeds: median / worst; ' +
      `a bug that controlled mode does not find yet (test/controlled.test.ts, NOT_YET: ${res.notYet.join(', ') || 'none'}) gets fewer schedules a seed.` +
      (res.note ? ` ${res.note}` : ''),
    '',
    '| bug | commit | free-running found | median ms | max ms | controlled pct | controlled random |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
  ];
  const names = [
    ...new Set([...res.free.map((/** @type {any} */ r) => r.protocol), ...res.controlled.map((/** @type {any} */ r) => r.protocol)]),
  ];
  for (const name of names) {
    const f = res.free.find((/** @type {any} */ r) => r.protocol === name);
    const pct = res.controlled.find((/** @type {any} */ r) => r.protocol === name && r.strategy === 'pct');
    const rnd = res.controlled.find((/** @type {any} */ r) => r.protocol === name && r.strategy === 'random');
    const commit = f?.commit ?? '';
    out.push(
      `| ${name} | ${commit} | ${f ? `${f.found}/${f.seeds}` : 'not run'} | ${n(f?.medianMs)} | ${n(f?.maxMs)} | ${controlledCell(pct)} | ${controlledCell(rnd)} |`,
    );
  }
  if (res.fix.length) {
    out.push(
      '',
      'Each fix: one free-running run (seed 1) and controlled schedules (pct, seed 1). Windows: how often each race window was hit ' +
        '(aba, an invalidation inside a snapshot-to-check window; snap and walk, callbacks done during a held snapshot or a walk; dma, a zap during ' +
        "an in-flight DMA; nonblock, a failed non-blockable start). hmm-eagain-leak-fix keeps hmm-v5.2's race and declares its kinds.",
      '',
      '| fix | expect | verdict | ops | ops/s | device faults | invalidations | windows hit | violations | controlled schedules, violations |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |',
    );
    for (const x of res.fix) {
      const v = Object.entries(x.violations).filter(([, c]) => c);
      const expect = x.expect === 'sound' ? 'sound' : `violates ${x.expect.violates.join(',')}`;
      out.push(
        `| ${x.protocol} | ${expect} | ${x.error ? `error: ${x.error}` : x.verdict} | ${n(x.ops)} | ${n(x.opsPerSec)} | ${n(x.deviceFaults)} | ${n(x.invalidations)} | ` +
          `${windows(x.coverage)} | ${v.length ? v.map(([k, c]) => `${k}:${c}`).join(' ') : '0'} | ` +
          `${x.controlledError ? `error: ${x.controlledError}` : `${n(x.controlledSchedules)}, ${x.controlledViolations}`} |`,
      );
    }
  }
  out.push('', END);
  return out.join('\n');
}

/**
 * `doc` with its history section replaced by `section` (between the markers), or, without
 * markers, inserted before "### Controlled mode" (else "### Targets", else at the end).
 * @param {string} doc @param {string} section
 */
export function spliceHistory(doc, section) {
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  if (b >= 0 && e > b) return doc.slice(0, b) + section + doc.slice(e + END.length);
  for (const anchor of ['### Controlled mode', '### Targets']) {
    const i = doc.indexOf(anchor);
    if (i >= 0) return `${doc.slice(0, i)}${section}\n\n${doc.slice(i)}`;
  }
  return `${doc.trimEnd()}\n\n${section}\n`;
}

/** The history section of an existing PERFORMANCE.md, or '' (bench/run.mjs carries it over). @param {string} doc */
export function historySection(doc) {
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  return b >= 0 && e > b ? doc.slice(b, e + END.length) : '';
}
