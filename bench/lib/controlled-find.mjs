/**
 * controlled-find.mjs — schedules to the first violation, as `runStress({ mode: 'controlled',
 * seed, stopOnViolation: true })` counts them (schedule i runs seed + i, the defaults of
 * `--mode controlled`), but on one Executor for every seed of a protocol and strategy, so that a
 * seed costs its schedules and not a new worker pool.
 */
import { Executor, loadProtocol } from '../../dist/schedule/executor.js';
import { CONTROLLED_DEFAULTS, stepsFor } from '../../dist/schedule/run.js';
import { DEFAULTS, protocolRoles } from '../../dist/config/defaults.js';
import { DEFAULT_EVENTS } from '../../dist/api/types.js';

/**
 * For each seed: the 1-based number of the first schedule with a violation (null: none in
 * `max`), and the ms from that seed's first schedule to it.
 * @param {string} protocol
 * @param {'pct' | 'random'} strategy
 * @param {number[]} seeds
 * @param {number} max
 */
export async function schedulesToFirst(protocol, strategy, seeds, max, depth = CONTROLLED_DEFAULTS.depth) {
  const p = await loadProtocol(protocol);
  const roles = protocolRoles({}, p.proto.roles); // its own roles, as a run without --threads deals
  const pages = CONTROLLED_DEFAULTS.pages;
  const w = {
    roles,
    events: p.proto.events ?? DEFAULT_EVENTS,
    pages,
    devices: DEFAULTS.devices,
    subsPerDevice: Math.min(DEFAULTS.subsPerDevice, pages / 64),
  };
  const { steps, boundSteps } = CONTROLLED_DEFAULTS;
  const exec = new Executor(roles.length);
  /** @type {{ seed: number, first: number | null, ms: number | null, kind: string | null }[]} */
  const out = [];
  try {
    for (const seed of seeds) {
      const t0 = performance.now();
      let row = {
        seed,
        first: /** @type {number | null} */ (null),
        ms: /** @type {number | null} */ (null),
        kind: /** @type {string | null} */ (null),
      };
      for (let i = 0; i < max; i++) {
        const cfg = { strategy, seed: (seed + i) >>> 0, depth, steps: stepsFor(p, steps, boundSteps), boundSteps, threads: roles.length };
        const o = await exec.run(p, w, cfg, '');
        if (o.error) throw new Error(`${protocol} ${strategy} seed ${seed + i}: ${o.error}`);
        if (o.kind) {
          row = { seed, first: i + 1, ms: Math.round((performance.now() - t0) * 10) / 10, kind: o.kind };
          break;
        }
      }
      out.push(row);
    }
  } finally {
    await exec.close();
  }
  return out;
}
