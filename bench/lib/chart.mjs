/**
 * chart.mjs — bench/results/chart.svg from the results object, rendered with Vega (headless:
 * `new vega.View(..., { renderer: 'none' }).toSVG()`, no canvas needed).
 *
 * Three panels: throughput vs workers per sound protocol (solid: oracle on, dashed: off); the
 * range walk per page (Wasm vs JS Atomics vs native C); the lock/hand-off micro-benchmarks
 * (hmmsim vs native vs npm multithreading, log scale).
 */
import * as vega from 'vega';

const W = 300,
  H = 220,
  GAP = 90;

function panel(x, title, marks, scales, axes, legends = []) {
  return {
    type: 'group',
    encode: { enter: { x: { value: x }, y: { value: 0 }, width: { value: W }, height: { value: H } } },
    scales,
    axes,
    legends,
    marks: [
      {
        type: 'text',
        encode: {
          enter: { x: { value: 0 }, y: { value: -12 }, text: { value: title }, fontSize: { value: 13 }, fontWeight: { value: 'bold' } },
        },
      },
      ...marks,
    ],
  };
}

function note(text) {
  return {
    type: 'text',
    encode: {
      enter: {
        x: { value: W / 2 },
        y: { value: H / 2 },
        text: { value: text },
        align: { value: 'center' },
        fill: { value: '#666' },
        fontSize: { value: 11 },
        limit: { value: W - 10 },
      },
    },
  };
}

export async function renderChart(res) {
  const date = res.date?.slice(0, 10) ?? '';
  const m = res.machine ?? {};
  // --- throughput ---
  const tp = (res.throughput?.rows ?? [])
    .filter((x) => x.opsPerSec != null)
    .map((x) => ({
      protocol: x.protocol,
      series: `${x.protocol} oracle ${x.oracle ? 'on' : 'off'}`,
      oracle: x.oracle ? 'on' : 'off',
      workers: x.workers,
      kops: x.opsPerSec / 1000,
    }));
  const tpPanel = tp.length
    ? panel(
        0,
        'Throughput vs workers (k ops/s, median)',
        [
          {
            type: 'group',
            from: { facet: { name: 'series', data: 'tp', groupby: ['series', 'protocol', 'oracle'] } },
            marks: [
              {
                type: 'line',
                from: { data: 'series' },
                encode: {
                  enter: {
                    x: { scale: 'tx', field: 'workers' },
                    y: { scale: 'ty', field: 'kops' },
                    stroke: { scale: 'color', field: 'protocol' },
                    strokeWidth: { value: 2 },
                    strokeDash: { signal: "datum.oracle === 'off' ? [5, 4] : [1, 0]" },
                  },
                },
              },
              {
                type: 'symbol',
                from: { data: 'series' },
                encode: {
                  enter: {
                    x: { scale: 'tx', field: 'workers' },
                    y: { scale: 'ty', field: 'kops' },
                    fill: { scale: 'color', field: 'protocol' },
                    size: { value: 30 },
                  },
                },
              },
            ],
          },
        ],
        [
          { name: 'tx', type: 'point', domain: { data: 'tp', field: 'workers', sort: true }, range: [0, W], padding: 0.3 },
          { name: 'ty', type: 'linear', domain: { data: 'tp', field: 'kops' }, range: [H, 0], nice: true, zero: true },
          { name: 'color', type: 'ordinal', domain: { data: 'tp', field: 'protocol' }, range: 'category' },
        ],
        [
          { orient: 'bottom', scale: 'tx', title: 'worker threads per role (x4 roles)' },
          { orient: 'left', scale: 'ty', title: 'k ops/s (solid: oracle on, dashed: off)', grid: true },
        ],
        [{ fill: 'color', orient: 'top-right', title: null, labelFontSize: 10 }],
      )
    : panel(0, 'Throughput vs workers', [note(res.throughput?.skipped ?? 'no throughput data')], [], []);
  // --- walk ---
  const wk = res.micro?.walk;
  const walk = wk
    ? [
        ['Wasm (hmmsim)', wk.wasm?.median],
        ['JS Atomics.load', wk.jsAtomics?.median],
        ['native C -O2', wk.native?.median],
      ]
        .filter(([, v]) => v != null)
        .map(([impl, ns]) => ({ impl, ns, label: `${ns.toFixed(2)} ns` }))
    : [];
  const walkPanel = panel(
    W + GAP,
    `Range walk, ns/page (${wk?.pages ?? '?'} pages, median)`,
    [
      {
        type: 'rect',
        from: { data: 'walk' },
        encode: {
          enter: {
            y: { scale: 'wy', field: 'impl' },
            height: { scale: 'wy', band: 1 },
            x: { scale: 'wx', value: 0 },
            x2: { scale: 'wx', field: 'ns' },
            fill: { value: '#4c78a8' },
          },
        },
      },
      {
        type: 'text',
        from: { data: 'walk' },
        encode: {
          enter: {
            y: { scale: 'wy', field: 'impl', band: 0.5 },
            x: { scale: 'wx', field: 'ns', offset: 4 },
            baseline: { value: 'middle' },
            text: { field: 'label' },
            fontSize: { value: 10 },
          },
        },
      },
    ],
    [
      { name: 'wy', type: 'band', domain: { data: 'walk', field: 'impl' }, range: [0, H], padding: 0.25 },
      {
        name: 'wx',
        type: 'linear',
        domain: { data: 'walk', field: 'ns' },
        range: [0, W],
        nice: true,
        zero: true,
        domainMax: Math.max(1, ...walk.map((x) => x.ns)) * 1.25,
      },
    ],
    [
      { orient: 'left', scale: 'wy' },
      { orient: 'bottom', scale: 'wx', title: 'ns per page (lower is better)', grid: true },
    ],
  );
  // --- sync ---
  const lk = res.micro?.locks ?? {};
  const ho = res.micro?.handoff ?? {};
  const sync = [];
  const add = (op, impl, v) => v != null && sync.push({ op, impl, ns: v });
  for (const [key, op] of [
    ['mutex', 'mutex'],
    ['rwsemRead', 'rwsem read'],
    ['rwsemWrite', 'rwsem write'],
    ['seqcountRead', 'seqcount read'],
  ]) {
    add(op, 'hmmsim', lk[key]?.hmmsim?.median);
    add(op, 'native', lk[key]?.pthread?.median);
    add(op, 'multithreading', lk[key]?.multithreading?.median);
  }
  add('hand-off RTT', 'hmmsim', ho.hmmsimWaitQueue?.median);
  add('hand-off RTT', 'native', ho.nativeFutex?.median);
  add('hand-off RTT', 'JS Atomics', ho.jsAtomics?.median);
  const syncPanel = panel(
    2 * (W + GAP),
    'Locks (uncontended) and wake hand-off, ns (log)',
    [
      {
        type: 'group',
        from: { facet: { name: 'byop', data: 'sync', groupby: 'op' } },
        encode: { enter: { y: { scale: 'sy', field: 'op' }, height: { scale: 'sy', band: 1 }, width: { value: W } } },
        signals: [{ name: 'bh', update: "bandwidth('sy')" }],
        scales: [{ name: 'inner', type: 'band', domain: { data: 'byop', field: 'impl' }, range: { signal: '[0, bh]' }, padding: 0.1 }],
        marks: [
          {
            type: 'rect',
            from: { data: 'byop' },
            encode: {
              enter: {
                y: { scale: 'inner', field: 'impl' },
                height: { scale: 'inner', band: 1 },
                x: { scale: 'sx', value: 0.25 },
                x2: { scale: 'sx', field: 'ns' },
                fill: { scale: 'scolor', field: 'impl' },
              },
            },
          },
        ],
      },
    ],
    [
      { name: 'sy', type: 'band', domain: { data: 'sync', field: 'op' }, range: [0, H], padding: 0.15 },
      { name: 'sx', type: 'log', domain: [0.25, Math.max(10, ...sync.map((x) => x.ns)) * 2], range: [0, W], nice: false },
      {
        name: 'scolor',
        type: 'ordinal',
        domain: ['hmmsim', 'native', 'multithreading', 'JS Atomics'],
        range: ['#4c78a8', '#54a24b', '#e45756', '#b279a2'],
      },
    ],
    [
      { orient: 'left', scale: 'sy' },
      {
        orient: 'bottom',
        scale: 'sx',
        title: 'ns per op / per round trip (log)',
        grid: true,
        format: '~s',
        values: [1, 10, 100, 1000, 10000, 100000],
      },
    ],
    [{ fill: 'scolor', orient: 'right', labelFontSize: 10 }],
  );

  const spec = {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 3 * W + 2 * GAP,
    height: H,
    padding: { left: 110, right: 120, top: 70, bottom: 50 },
    autosize: 'none',
    background: 'white',
    data: [
      { name: 'tp', values: tp },
      { name: 'walk', values: walk },
      { name: 'sync', values: sync },
    ],
    marks: [
      {
        type: 'text',
        encode: {
          enter: {
            x: { value: 0 },
            y: { value: -45 },
            text: {
              value: `hmmsim benchmarks — ${m.cpuModel ?? ''}, ${m.cores ?? '?'} cores, Node ${m.node ?? ''}, ${date}${res.quick ? ' (quick pass)' : ''}; medians`,
            },
            fontSize: { value: 14 },
          },
        },
      },
      tpPanel,
      walkPanel,
      syncPanel,
    ],
  };
  const view = new vega.View(vega.parse(/** @type {vega.Spec} */ (spec)), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
