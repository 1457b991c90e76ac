/**
 * The kernel's HMM selftests (tools/testing/selftests/mm/hmm-tests.c) ported to the model, run
 * against every sound protocol: what a device sees through each protocol's populate path.
 */
import { describe, it, expect } from 'vitest';
import { harness, L } from './mm-harness.js';
import { mprotect, migrate, munmap } from '../dist/model/mm/ops.js';
import { runStress } from '../dist/index.js';

const SOUND = ['interval-v5.5', 'odp-v5.4', 'kvm'];

for (const name of SOUND) {
  describe(`hmm-tests.c on ${name}`, () => {
    it('anon_read: the device reads populated and unpopulated pages with the right content', async () => {
      const h = await harness(name);
      for (let p = 0; p < 16; p += 2) h.cpuWrite(p, 1000 + p); // half populated
      expect(h.deviceFault(0, 16, false)).toBe('ok');
      for (let p = 0; p < 16; p++) {
        expect(h.dma(p)).toBe(1);
        expect(h.devRead(p)).toBe(p % 2 === 0 ? 1000 + p : 0);
      }
      expect(h.violations).toEqual([]);
    });

    it('anon_read_prot: PROT_NONE gives -EFAULT and leaves the mirror untouched', async () => {
      const h = await harness(name);
      for (let p = 64; p < 72; p++) h.cpuWrite(p, p);
      mprotect(h.ctx, 64, 72, 'none');
      expect(h.deviceFault(64, 72, false)).toBe(L.EFAULT);
      for (let p = 64; p < 72; p++) {
        expect(h.s.wasm.dev_entry(0, p)).toBe(0);
        expect(h.dma(p)).toBe(0); // no device entry: the device would fault
      }
      expect(h.violations).toEqual([]);
    });

    it('anon_write: device writes are seen by the CPU', async () => {
      const h = await harness(name);
      expect(h.deviceFault(128, 140, true)).toBe('ok');
      for (let p = 128; p < 140; p++) expect(h.dma(p, 5000 + p)).toBe(1);
      for (let p = 128; p < 140; p++) expect(h.cpuRead(p)).toBe(5000 + p);
      expect(h.violations).toEqual([]);
    });

    it('anon_write_prot: -EPERM on a read-only mapping, works after mprotect(RW)', async () => {
      const h = await harness(name);
      for (let p = 10; p < 14; p++) h.cpuWrite(p, p);
      mprotect(h.ctx, 10, 14, 'read');
      expect(h.deviceFault(10, 14, true)).toBe(L.EPERM);
      for (let p = 10; p < 14; p++) expect(h.s.wasm.dev_entry(0, p)).toBe(0);
      // read-only mirror is fine, and a device write through it is refused
      expect(h.deviceFault(10, 14, false)).toBe('ok');
      expect(h.dma(10, 1)).toBe(2);
      mprotect(h.ctx, 10, 14, 'readwrite');
      expect(h.deviceFault(10, 14, true)).toBe('ok');
      for (let p = 10; p < 14; p++) expect(h.dma(p, 70 + p)).toBe(1);
      for (let p = 10; p < 14; p++) expect(h.cpuRead(p)).toBe(70 + p);
      expect(h.violations).toEqual([]);
    });

    it('migrate: data intact, the device is invalidated and then reads the new frames', async () => {
      const h = await harness(name);
      for (let p = 200; p < 208; p++) h.cpuWrite(p, 300 + p);
      expect(h.deviceFault(200, 208, false)).toBe('ok');
      const before = Array.from({ length: 8 }, (_, i) => h.s.wasm.pte_get(200 + i) >>> L.PTE_PFN_SHIFT);
      for (let p = 200; p < 208; p++) migrate(h.ctx, p);
      for (let p = 200; p < 208; p++) {
        expect(h.s.wasm.pte_get(p) >>> L.PTE_PFN_SHIFT).not.toBe(before[p - 200]);
        expect(h.s.wasm.dev_entry(0, p)).toBe(0); // the invalidation zapped the mirror
        expect(h.cpuRead(p)).toBe(300 + p);
      }
      expect(h.deviceFault(200, 208, false)).toBe('ok');
      for (let p = 200; p < 208; p++) {
        expect(h.dma(p)).toBe(1);
        expect(h.devRead(p)).toBe(300 + p);
      }
      expect(h.violations).toEqual([]);
    });

    it('anon_read_multiple: repeated faults see each new value', async () => {
      const h = await harness(name);
      for (let round = 0; round < 10; round++) {
        for (let p = 30; p < 40; p++) h.cpuWrite(p, round * 100 + p);
        expect(h.deviceFault(30, 40, false)).toBe('ok');
        for (let p = 30; p < 40; p++) expect(h.devRead(p)).toBe(round * 100 + p);
        munmap(h.ctx, 30, 40); // fresh memory for the next round
        for (let p = 30; p < 40; p++) expect(h.s.wasm.dev_entry(0, p)).toBe(0);
      }
      expect(h.violations).toEqual([]);
    });

    it('anon_teardown: device reads while another thread munmaps: no use-after-free', async () => {
      const r = await runStress({ protocol: name, durationMs: 600, seed: 5, events: ['munmap'] });
      const p = r.protocols[0];
      expect(p.error).toBeUndefined();
      expect(p.violations).toEqual({});
      expect(p.roleOps.invalidator ?? 0).toBeGreaterThan(100);
      expect(p.roleOps.dma ?? 0).toBeGreaterThan(100);
    });
  });
}
