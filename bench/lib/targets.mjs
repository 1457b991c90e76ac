/**
 * targets.mjs — the benchmark goals, evaluated against a results object. Goals, not test
 * assertions: nothing fails when one is missed; the table and PERFORMANCE.md say where each stands.
 */
const fx = (x) => (x == null ? null : `${x.toFixed(2)}x`);
const pct = (x) => (x == null ? null : `${(x * 100).toFixed(1)}%`);

function status(ok, measured, na) {
  if (measured == null) return { status: 'n/a', measured: na };
  return { status: ok ? 'met' : 'missed', measured };
}

export function evaluateTargets(res) {
  const out = [];
  const wk = res.micro?.walk;
  const lk = res.micro?.locks;
  const ho = res.micro?.handoff;
  const microNa = res.micro?.skipped ?? 'micro-benchmarks not run';
  const best = wk?.wasm?.min && wk?.native?.min ? wk.wasm.min / wk.native.min : null;
  out.push({
    target: 'Wasm walk <= 1.2x native C per page',
    ...status(
      wk?.wasmVsNative <= 1.2,
      wk?.wasmVsNative == null ? null : `${fx(wk.wasmVsNative)} (median of rounds; best round vs best round: ${fx(best)})`,
      wk ? (wk.nativeNote ?? 'no native figure') : microNa,
    ),
  });
  out.push({ target: 'Wasm walk >= 8x faster than the JS-Atomics walk', ...status(wk?.jsVsWasm >= 8, fx(wk?.jsVsWasm), microNa) });
  out.push({
    target: 'mutex lock+unlock <= 1.5x native pthread',
    ...status(lk?.mutex?.vsPthread <= 1.5, fx(lk?.mutex?.vsPthread), lk ? 'no pthread figure' : microNa),
  });
  out.push({
    target: "mutex lock+unlock >= 3x faster than multithreading's Mutex",
    ...status(lk?.mutex?.multithreadingVsHmmsim >= 3, fx(lk?.mutex?.multithreadingVsHmmsim), lk ? 'no multithreading figure' : microNa),
  });
  out.push({
    target: 'wake hand-off <= 1.6x futex',
    ...status(ho?.waitQueueVsFutex <= 1.6, fx(ho?.waitQueueVsFutex), ho ? 'no futex figure' : microNa),
  });

  const tp = res.throughput;
  const tpNa = tp?.skipped ?? 'throughput not run';
  if (tp?.derived) {
    // worst protocol at the largest worker count measured with both oracle settings
    let worst = null,
      where = '';
    let minScale = null,
      whereScale = '';
    for (const [p, d] of Object.entries(tp.derived)) {
      for (const [w, o] of Object.entries(d.oracleOverheadByWorkers ?? {})) {
        if (o != null && (worst == null || o > worst)) {
          worst = o;
          where = `${p}, ${w} worker(s)`;
        }
      }
      const s = d.scaling1to2OracleOn;
      if (s != null && (minScale == null || s < minScale)) {
        minScale = s;
        whereScale = p;
      }
    }
    out.push({
      target: 'oracle overhead <= 25%',
      ...status(worst !== null && worst <= 0.25, worst == null ? null : `${pct(worst)} (worst: ${where})`, 'runner gave no figures'),
    });
    out.push({
      target: '1 -> 2 workers >= 1.7x',
      ...status(
        minScale !== null && minScale >= 1.7,
        minScale == null
          ? null
          : `${fx(minScale)} (worst: ${whereScale}, oracle on; 1 -> 2 threads per role = 4 -> 8 threads on ${tp.cores} cores)`,
        'runner gave no figures',
      ),
    });
  } else {
    out.push({ target: 'oracle overhead <= 25%', status: 'n/a', measured: tpNa });
    out.push({ target: '1 -> 2 workers >= 1.7x', status: 'n/a', measured: tpNa });
  }
  const pg = res.pages;
  if (pg?.flatness) {
    let worst = null,
      where = '';
    for (const [p, f] of Object.entries(pg.flatness)) {
      if (f.maxOverMin != null && (worst == null || f.maxOverMin > worst)) {
        worst = f.maxOverMin;
        where = p;
      }
    }
    out.push({
      target: 'per-op cost flat from 1 K to 1 M pages (max/min <= 1.25)',
      ...status(worst !== null && worst <= 1.25, worst == null ? null : `max/min ${fx(worst)} (worst: ${where})`, 'runner gave no figures'),
    });
  } else
    out.push({ target: 'per-op cost flat from 1 K to 1 M pages (max/min <= 1.25)', status: 'n/a', measured: pg?.skipped ?? 'not run' });
  const dt = res.detect;
  if (dt?.rows) {
    const rows = dt.rows.filter((x) => x.widenWindows);
    const all = rows.length > 0 && rows.every((x) => x.caught === x.seeds && x.medianMs != null && x.medianMs <= 200);
    const misses = rows
      .filter((x) => !(x.caught === x.seeds && x.medianMs != null && x.medianMs <= 200))
      .map((x) => `${x.protocol} ${x.caught}/${x.seeds}${x.medianMs != null ? ` median ${x.medianMs} ms` : ''}`);
    const worstMed = Math.max(...rows.map((x) => x.medianMs ?? Infinity));
    out.push({
      target: `every broken protocol caught in all ${dt.seeds} seeds, median <= 200 ms`,
      status: rows.length ? (all ? 'met' : 'missed') : 'n/a',
      measured: rows.length
        ? all
          ? `${rows.length}/${rows.length} protocols, worst median ${worstMed} ms`
          : `missed by: ${misses.join('; ')}`
        : 'no broken protocols listed',
    });
    if (dt.seeds < 20) out[out.length - 1].measured += ` (only ${dt.seeds} seeds: quick pass)`;
  } else
    out.push({
      target: 'every broken protocol caught in all 20 seeds, median <= 200 ms',
      status: 'n/a',
      measured: dt?.skipped ?? 'not run',
    });
  return out;
}
