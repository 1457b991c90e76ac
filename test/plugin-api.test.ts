/**
 * The plugin API's failure modes (README.md, "Writing your own protocol"): a plugin missing a
 * method, or one that throws, gets a clear error naming the protocol and the method, and never
 * hangs the run.
 */
import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runStress, ConfigError } from '../dist/index.js';

const fx = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

describe('plugin API errors', () => {
  it('a plugin lacking a method is refused before the run, naming protocol and method', async () => {
    await expect(runStress({ protocol: fx('no-api-plugin.mjs'), durationMs: 200 })).rejects.toThrow(ConfigError);
    await expect(runStress({ protocol: fx('no-api-plugin.mjs'), durationMs: 200 })).rejects.toThrow(
      /protocol fixture-no-api .* lacks method populate\(\)/,
    );
  });

  it('an unknown state type is refused with the field named', async () => {
    await expect(runStress({ protocol: fx('api/bad-state.mjs'), durationMs: 200 })).rejects.toThrow(
      /api-bad-state: mmState.lock has unknown type 'spinlock'/,
    );
  });

  it('a missing file and an unknown name are config errors', async () => {
    await expect(runStress({ protocol: './nope/missing.mjs', durationMs: 200 })).rejects.toThrow(/protocol file .*missing.mjs not found/);
    await expect(runStress({ protocol: 'interval-v9', durationMs: 200 })).rejects.toThrow(
      /unknown protocol 'interval-v9': use one of interval-v5.5, .*kvm/,
    );
  });

  it('populate throwing ends that run with the error (protocol + method), promptly', async () => {
    const t0 = Date.now();
    const r = await runStress({ protocol: [fx('throwing-plugin.mjs'), 'kvm'], durationMs: 500 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const [bad, kvm] = r.protocols;
    expect(bad.verdict).toBe('fail');
    expect(bad.error?.message).toMatch(/protocol fixture-throws: populate\(\) threw: fixture populate exploded/);
    expect(bad.error?.protocolMethod).toBe('populate');
    expect(bad.error?.stack).toMatch(/throwing-plugin\.mjs/);
    // the next protocol still runs
    expect(['pass', 'inconclusive']).toContain(kvm.verdict); // 500 ms may miss a race window
    expect(kvm.ops).toBeGreaterThan(0);
  });

  it('invalidateStart throwing is reported the same way', async () => {
    const r = await runStress({ protocol: fx('api/throws-in-invalidate.mjs'), durationMs: 500 });
    expect(r.protocols[0].error?.message).toMatch(/api-throws-invalidate: invalidateStart\(\) threw: callback bug/);
    expect(r.protocols[0].error?.protocolMethod).toBe('invalidateStart');
  });

  it('a plugin that never makes progress is ended by the watchdog as a stall, not a hang', async () => {
    const r = await runStress({ protocol: fx('api/retries-forever.mjs'), durationMs: 5000, watchdogMs: 500 });
    const p = r.protocols[0];
    expect(p.violations.stall).toBe(1);
    // before the 5 s run ends (on a heavily loaded machine the watchdog waits until the spinning thread had CPU)
    expect(p.durationMs).toBeLessThan(5000);
    expect(p.witnesses.at(-1)?.text).toMatch(/T\d driver made no progress for \d+ ms \(not blocked: retrying or spinning\)/);
  });
});
