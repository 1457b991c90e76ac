/**
 * End-to-end test of the browser demo (demo/): Debian's Chromium (/usr/bin/chromium, driven by
 * playwright-core; never a downloaded browser) against Vite's dev server started here on
 * 127.0.0.1 with the demo's config (the COOP/COEP headers included).
 *
 * Without /usr/bin/chromium the test is skipped with the install line printed, unless CI is set:
 * then it fails.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { CHROMIUM, CHROMIUM_INSTALL as INSTALL, CHROMIUM_LAUNCH } from './chromium.js';

const CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const repo = fileURLToPath(new URL('..', import.meta.url));
const haveChromium = existsSync(CHROMIUM);

if (!haveChromium && CI) {
  describe('browser demo (CI)', () => {
    it(`needs Debian Chromium at ${CHROMIUM}`, () => {
      throw new Error(`${CHROMIUM} not found; CI must install it: ${INSTALL}`);
    });
  });
} else if (!haveChromium) {
  console.warn(`demo e2e test skipped: ${CHROMIUM} not found. Install it with:\n  ${INSTALL}`);
  describe.skip(`browser demo (skipped: no ${CHROMIUM}; install with: ${INSTALL})`, () => {
    it('runs the demo in headless Chromium', () => {});
  });
}

describe.runIf(haveChromium)('browser demo in headless Chromium', () => {
  let server: ViteDevServer;
  let context: BrowserContext;
  let page: Page;
  let url: string;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(join(repo, 'build/hmmsim.wasm'))) throw new Error('build/hmmsim.wasm missing: run npm run build first');
    const { createServer } = await import('vite');
    server = await createServer({
      configFile: join(repo, 'demo/vite.config.ts'),
      logLevel: 'error',
      server: { host: '127.0.0.1', port: 0, strictPort: true, watch: null, hmr: false },
    });
    await server.listen();
    const address = server.httpServer!.address();
    if (!address || typeof address === 'string') throw new Error('vite dev server has no port');
    url = `http://127.0.0.1:${address.port}/`;

    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'hmmsim-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      ...CHROMIUM_LAUNCH,
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await server?.close().catch(() => {});
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const text = (sel: string) => page.locator(sel).innerText();
  const violations = async () => Number(await text('#viol-total'));
  const state = () => page.evaluate(() => document.body.dataset.state);
  const setEvents = async (on: string[]) => {
    for (const ev of ['munmap', 'mprotect', 'dontneed', 'migrate', 'reclaim', 'cow', 'oom'])
      await page.setChecked(`#ev-${ev}`, on.includes(ev));
  };

  it('loads cross-origin isolated', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.waitForFunction(() => document.body.dataset.state === 'idle', null, { timeout: 15_000 });
    const protocols = await page.locator('#protocol option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(protocols).toEqual(expect.arrayContaining(['interval-v5.5', 'odp-v5.4', 'kvm', 'hmm-v5.2']));
    expect(errors).toEqual([]);
  }, 30_000);

  it('interval-v5.5 runs 5 s with no violation', async () => {
    await page.selectOption('#protocol', 'interval-v5.5');
    await setEvents(['munmap', 'mprotect', 'dontneed', 'migrate', 'reclaim', 'cow', 'oom']);
    await page.fill('#seed', '7');
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state === 'running', null, { timeout: 15_000 });
    await page.waitForTimeout(5000);
    expect(await state()).toBe('running');
    expect(await violations()).toBe(0);
    expect(Number((await text('#c-ops')).replace(/,/g, ''))).toBeGreaterThan(1000);
    await page.click('#stop');
    await page.waitForFunction(() => document.body.dataset.state === 'stopped', null, { timeout: 10_000 });
    expect(await violations()).toBe(0);
    expect(await text('#verdict')).toMatch(/verdict: pass/);
  }, 40_000);

  it('hmm-v5.2 with migration shows a violation within 10 s, with its witness', async () => {
    await page.selectOption('#protocol', 'hmm-v5.2');
    await setEvents(['migrate']);
    await page.setChecked('#stop-first', true);
    await page.fill('#seed', '1');
    const t0 = Date.now();
    await page.click('#start');
    await page.waitForFunction(() => Number(document.getElementById('viol-total')!.textContent) > 0, null, { timeout: 10_000 });
    console.log(`demo: hmm-v5.2 + migrate: first violation seen on the page ${Date.now() - t0} ms after Start`);
    await page.waitForFunction(() => document.body.dataset.state === 'stopped', null, { timeout: 10_000 });
    expect(await violations()).toBeGreaterThan(0);
    expect(await text('#viol-list')).toMatch(/use-after-free|device-pte-during-invalidation/);
    // the selected witness is drawn with one lane per thread, the violation in it
    const lanes = await page.locator('#timeline thead th').count();
    expect(lanes).toBeGreaterThanOrEqual(3); // '#' + at least two threads
    expect(await text('#timeline')).toMatch(/USE-AFTER-FREE|DEVICE-PTE-DURING-INVALIDATION/);
    expect(await text('#verdict')).toMatch(/verdict: pass/);
    mkdirSync(join(repo, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(repo, 'test-results/demo.png'), fullPage: true });
  }, 40_000);

  it('steps a corpus schedule from the URL forward to its violation and back, the grids following', async () => {
    // the shipped, shrunk schedule of hmm-v5.2's ABA, the whole corpus report, in the URL as hmmsim replay --demo-url writes it
    const report = readFileSync(join(repo, 'test/corpus/hmm-v5.2-use-after-free-b19b3d406e86.json'));
    const p = await context.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    const t0 = Date.now();
    await p.goto(`${url}?schedule=${gzipSync(report).toString('base64url')}`);
    await p.waitForFunction(() => document.body.dataset.state === 'stepping', null, { timeout: 20_000 });
    const counter = p.locator('#step-counter');
    const n = Number((await counter.innerText()).match(/^step 0 \/ (\d+)$/)![1]);
    expect(n).toBeGreaterThan(400);
    // replayed for real, in the browser's workers: the witness is the one Node recorded, byte for byte
    expect(await p.locator('#replay-result').innerText()).toBe(
      `replayed: use-after-free at step ${n}; the same witness as recorded, byte for byte`,
    );
    const cells = () =>
      p.evaluate(() => ['cpu-grid', 'dev-grid'].map((id) => (document.getElementById(id) as HTMLCanvasElement).dataset.cells).join('|'));
    const at = (k: number) =>
      p.waitForFunction((want) => document.getElementById('step-counter')!.textContent === want, `step ${k} / ${n}`);
    for (let k = 1; k <= 3; k++) {
      await p.keyboard.press('ArrowRight');
      await at(k);
    }
    const early = await cells();
    await p.click('#step-violation');
    await at(n);
    // the violation is the witness's current row, nothing of it is still to come
    expect(await p.locator('#timeline tr.current').count()).toBe(1);
    expect(await p.locator('#timeline tr.current').innerText()).toMatch(/USE-AFTER-FREE/);
    expect(await p.locator('#timeline tr.future').count()).toBe(0);
    const last = await cells();
    expect(last).not.toBe(early);
    expect(last.split('|')[1]).toContain('5'); // a stale device entry: the device maps a freed frame
    await p.keyboard.press('ArrowLeft');
    await at(n - 1);
    expect(await p.locator('#timeline tr.future').count()).toBeGreaterThan(0);
    // back to step 3 (the slider): the grids are as they were there
    await p.locator('#step-slider').fill('3');
    await at(3);
    expect(await cells()).toBe(early);
    console.log(
      `demo: stepped ${n} points of hmm-v5.2's corpus schedule; ${await p.locator('#step-time').innerText()} (step 3), ${Date.now() - t0} ms in all`,
    );
    // a schedule that leaves its own run (dropped on the page), and one whose protocol is not built in (picked): one line each
    const schedule = JSON.parse(report.toString()).protocols[0].witnesses[0].schedule;
    const edited = JSON.stringify({ ...schedule, switches: schedule.switches.slice(0, 2) });
    await p.evaluate((text) => {
      const dataTransfer = new DataTransfer();
      dataTransfer.items.add(new File([text], 'edited.json', { type: 'application/json' }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer, bubbles: true, cancelable: true }));
    }, edited);
    await p.locator('#schedule-error').filter({ hasText: 'diverged' }).waitFor({ timeout: 10_000 });
    expect(await p.locator('#schedule-error').innerText()).toMatch(/^edited\.json: the replay diverged at step \d+: .*$/);
    const plugin = { ...schedule, protocol: './my-driver.mjs', protocolHash: 'ab'.repeat(32) };
    await p.setInputFiles('#schedule-file', {
      name: 'plugin.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(plugin)),
    });
    await p.locator('#schedule-error').filter({ hasText: 'not built into the demo' }).waitFor({ timeout: 10_000 });
    expect(await p.locator('#schedule-error').innerText()).not.toContain('\n');
    expect(errors).toEqual([]);
    await p.close();
  }, 60_000);

  it('without the isolation headers, says which headers are needed', async () => {
    const p = await context.newPage();
    await p.route('**/*', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await p.goto(url);
    expect(await p.evaluate(() => crossOriginIsolated)).toBe(false);
    const banner = p.locator('#isolation');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    const msg = await banner.innerText();
    expect(msg).toContain('Cross-Origin-Opener-Policy: same-origin');
    expect(msg).toContain('Cross-Origin-Embedder-Policy: require-corp');
    expect(await p.locator('#start').isDisabled()).toBe(true);
    await p.close();
  }, 30_000);
});
