/** report.mjs — the stdout table and the markdown fragment (bench/PERFORMANCE.md) from a results object. */
import { table, fmtNs, fmtX, fmtNum } from './util.mjs';
import { evaluateTargets } from './targets.mjs';

const med = (s) => s?.median ?? null;
/** Kinds a broken protocol showed that its `expect.violates` does not list (its verdict is then 'fail'). */
const undeclared = (x) =>
  x.expectedKinds
    ? Object.keys(x.kindsSeen)
        .filter((k) => !x.expectedKinds.includes(k))
        .map((k) => `${k} (${x.kindsSeen[k]})`)
        .join(', ') || '—'
    : '?';

/** Sections as { title, rows (first row = header), note? }. Shared by text and markdown. */
export function sections(res) {
  const out = [];
  const wk = res.micro?.walk;
  if (wk) {
    out.push({
      title: `Range walk (hmm_range_fault, ${wk.pages} present pages, ns/page, median of ${wk.wasm?.rounds ?? '?'} rounds)`,
      rows: [
        ['implementation', 'ns/page', 'vs native C', 'vs Wasm'],
        ['Wasm (hmmsim)', fmtNs(med(wk.wasm)), fmtX(wk.wasmVsNative), '1.00x'],
        [
          'JS, Atomics.load',
          fmtNs(med(wk.jsAtomics)),
          fmtX(med(wk.jsAtomics) && med(wk.native) ? med(wk.jsAtomics) / med(wk.native) : null),
          fmtX(wk.jsVsWasm),
        ],
        [
          'native C (cc -O2)',
          wk.native ? fmtNs(med(wk.native)) : 'skipped',
          wk.native ? '1.00x' : '—',
          fmtX(med(wk.native) && med(wk.wasm) ? med(wk.native) / med(wk.wasm) : null),
        ],
      ],
      note:
        [
          wk.nativeNote,
          wk.native
            ? `per-round ns/page: Wasm ${wk.wasm.samples.join(', ')}; C ${wk.native.samples.join(', ')}; JS ${wk.jsAtomics.samples.join(', ')}. Best round vs best round: Wasm/C ${fmtX(wk.wasm.min / wk.native.min)}, JS/Wasm ${fmtX(wk.jsAtomics.min / wk.wasm.min)}`
            : null,
        ]
          .filter(Boolean)
          .join(' ') || undefined,
    });
  }
  const lk = res.micro?.locks;
  if (lk) {
    const row = (name, x) => [
      name,
      fmtNs(med(x?.hmmsim)),
      x?.pthread ? fmtNs(med(x.pthread)) : '—',
      x?.multithreading ? fmtNs(med(x.multithreading)) : '—',
      fmtX(x?.vsPthread),
      fmtX(x?.multithreadingVsHmmsim),
    ];
    out.push({
      title: 'Locks, uncontended (ns per lock+unlock; seqcount: per read section; median of rounds)',
      rows: [
        ['operation', 'hmmsim', 'native pthread', 'multithreading', 'hmmsim/native', 'multithreading/hmmsim'],
        row('mutex lock+unlock', lk.mutex),
        ...(lk.mutex?.hmmsimRawWasm
          ? [
              [
                '  (same, raw Wasm calls, no JS class)',
                fmtNs(med(lk.mutex.hmmsimRawWasm)),
                '',
                '',
                fmtX(med(lk.mutex.hmmsimRawWasm) / med(lk.mutex.pthread)),
                '',
              ],
            ]
          : []),
        row('rwsem read lock+unlock', lk.rwsemRead),
        row('rwsem write lock+unlock', lk.rwsemWrite),
        row('seqcount read section', lk.seqcountRead),
      ],
    });
  }
  const ho = res.micro?.handoff;
  if (ho) {
    out.push({
      title: `Wake hand-off between two threads (per round trip = two hand-offs, ${ho.rounds} round trips per run, median of runs)`,
      rows: [
        ['implementation', 'round trip', 'vs futex'],
        ['hmmsim WaitQueue (workers)', fmtNs(med(ho.hmmsimWaitQueue)), fmtX(ho.waitQueueVsFutex)],
        ['raw JS Atomics.wait/notify (workers)', fmtNs(med(ho.jsAtomics)), fmtX(ho.jsAtomicsVsFutex)],
        ['native futex (pthreads)', ho.nativeFutex ? fmtNs(med(ho.nativeFutex)) : 'skipped', ho.nativeFutex ? '1.00x' : '—'],
      ],
    });
  }
  const tp = res.throughput;
  if (tp?.skipped) out.push({ title: 'Throughput', rows: null, note: tp.skipped });
  else if (tp?.rows) {
    out.push({
      title: `Throughput (runStress, ${tp.durationMs} ms per run, median of ${tp.repsPerCell}; workers = threads per role, 4 roles; ${tp.cores} cores)`,
      rows: [
        ['protocol', 'oracle', 'workers/role', 'threads', 'ops/s', 'device faults/s', 'invalidations/s', 'retries/s', 'violations'],
        ...tp.rows.map((x) => [
          x.protocol,
          x.oracle ? 'on' : 'off',
          x.workers,
          4 * x.workers,
          x.error ? `error` : fmtNum(x.opsPerSec),
          fmtNum(x.roleOpsPerSec?.driver),
          fmtNum(x.roleOpsPerSec?.invalidator),
          fmtNum(x.retriesPerSec),
          x.violations,
        ]),
      ],
      note: tp.errors?.length ? `errors: ${tp.errors.slice(0, 3).join(' | ')}` : undefined,
    });
    out.push({
      title: 'Scaling and oracle overhead (from the throughput runs)',
      rows: [
        ['protocol', '1->2 workers/role (oracle on)', '1->2 workers/role (oracle off)', ...tp.workers.map((w) => `oracle cost @${w}/role`)],
        ...Object.entries(tp.derived).map(([p, d]) => [
          p,
          fmtX(d.scaling1to2OracleOn),
          fmtX(d.scaling1to2OracleOff),
          ...tp.workers.map((w) => (d.oracleOverheadByWorkers[w] == null ? '—' : `${(d.oracleOverheadByWorkers[w] * 100).toFixed(1)}%`)),
        ]),
      ],
    });
  }
  const pg = res.pages;
  if (pg?.skipped) out.push({ title: 'Per-op cost vs address-space size', rows: null, note: pg.skipped });
  else if (pg?.rows) {
    const prot = [...new Set(pg.rows.map((x) => x.protocol))];
    out.push({
      title: `Per-op cost vs address-space size (ns of wall time per op, median of ${pg.repsPerCell})`,
      rows: [
        ['protocol', ...pg.sizes.map((s) => (s >= 1 << 20 ? `${s >> 20} M pages` : `${s >> 10} K pages`)), 'max/min'],
        ...prot.map((p) => [
          p,
          ...pg.sizes.map((s) => fmtNs(pg.rows.find((x) => x.protocol === p && x.pages === s)?.nsPerOp)),
          fmtX(pg.flatness[p]?.maxOverMin),
        ]),
      ],
      note: pg.errors?.length ? `errors: ${pg.errors.slice(0, 3).join(' | ')}` : undefined,
    });
  }
  const dt = res.detect;
  if (dt?.skipped) out.push({ title: 'Time to detect', rows: null, note: dt.skipped });
  else if (dt?.rows) {
    out.push({
      title: `Time to detect (broken protocols, seeds 1..${dt.seeds}, cap ${dt.capMs} ms, ms to first violation)`,
      rows: [
        ['protocol', 'widening', 'caught', 'median', 'p90', 'max', 'kinds seen', 'undeclared kinds'],
        ...dt.rows.map((x) => [
          x.protocol,
          x.widenWindows ? 'on' : 'off',
          `${x.caught}/${x.seeds}`,
          x.medianMs ?? '—',
          x.p90Ms ?? '—',
          x.maxMs ?? '—',
          Object.keys(x.kindsSeen).join(', ') || '—',
          undeclared(x),
        ]),
      ],
      note: dt.errors?.length ? `errors: ${dt.errors.slice(0, 3).join(' | ')}` : undefined,
    });
  }
  out.push({
    title: 'Targets',
    rows: [['target', 'measured', 'status'], ...evaluateTargets(res).map((t) => [t.target, t.measured, t.status])],
  });
  return out;
}

export function textReport(res) {
  const m = res.machine;
  const head = `hmmsim bench${res.quick ? ' (--quick)' : ''} — ${m.cpuModel}, ${m.cores} cores, Node ${m.node} (V8 ${m.v8}), ${res.date}`;
  return [
    head,
    '',
    ...sections(res).map(
      (s) => [`== ${s.title}`, s.rows ? table(s.rows) : '', s.note ? `note: ${s.note}` : ''].filter(Boolean).join('\n') + '\n',
    ),
  ].join('\n');
}

const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
function mdTable(rows) {
  return [
    `| ${rows[0].map(esc).join(' | ')} |`,
    `|${rows[0].map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function markdownReport(res, { limits = '' } = {}) {
  const m = res.machine;
  const parts = [
    '<!-- generated by `node bench/run.mjs` from bench/results/latest.json; merged into the README later -->',
    '## Performance',
    '',
    `Measured ${res.date.slice(0, 10)} on ${m.cpuModel} (${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}), Node ${m.node} (V8 ${m.v8})` +
      (res.native?.ok
        ? `, native baselines built with \`${res.native.cc} ${res.native.flags}\` (${res.native.version})`
        : `, native baselines skipped: ${res.native?.reason}`) +
      `. Every figure is a median (of tinybench samples, then of interleaved rounds); speed is quoted as ratios against baselines run side by side in the same process. Other processes shared the 2 cores during the run (load average at start: ${m.loadAvgAtStart.join(', ')}), so read ratios, not absolute times.`,
    '',
    ...(res.sectionDates && new Set(Object.values(res.sectionDates).map((d) => d.slice(0, 16))).size > 1
      ? [
          `Sections were measured at different times on the same machine (\`--merge\`): ${Object.entries(res.sectionDates)
            .map(([s, d]) => `${s} ${d.slice(0, 16).replace('T', ' ')} UTC`)
            .join(', ')}.`,
          '',
        ]
      : []),
    `Run it: \`npm run bench\` (full, a few minutes) or \`npm run bench -- --quick\`. Output: a table on stdout, \`bench/results/latest.json\` (every figure, the machine, Node/V8) and \`bench/results/chart.svg\`.`,
    '',
    '![hmmsim benchmarks](bench/results/chart.svg)',
    '',
  ];
  for (const s of sections(res)) {
    parts.push(`### ${s.title}`, '');
    if (s.rows) parts.push(mdTable(s.rows), '');
    if (s.note) parts.push(`_${s.note}_`, '');
  }
  if (limits) parts.push('### What limits the missed targets', '', limits.trim(), '');
  return parts.join('\n');
}
