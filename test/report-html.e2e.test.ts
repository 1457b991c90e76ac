/**
 * The `--html` report in headless Chromium (Debian's /usr/bin/chromium via playwright-core, as
 * test/demo.e2e.test.ts launches it): written by `hmmsim merge` from a recorded shard report
 * (test/fixtures/campaign-shard.json: kvm clean, hmm-valid-unlocked with two witnesses; recorded
 * rather than run so that a loaded machine cannot leave it without a witness), opened from file:// with every
 * request that is not the file itself blocked and recorded. It must show the verdict table and the
 * witness timeline (a lane per thread, the violating event marked, the rerun command) and attempt
 * no network request at all.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_INSTALL, CHROMIUM_LAUNCH } from './chromium.js';

const CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const haveChromium = existsSync(CHROMIUM);
const ROOT = resolve(import.meta.dirname, '..');

if (!haveChromium) {
  describe.skipIf(!CI)('html report (CI)', () => {
    it(`needs Debian Chromium at ${CHROMIUM}`, () => {
      throw new Error(`${CHROMIUM} not found; CI must install it: ${CHROMIUM_INSTALL}`);
    });
  });
}

describe.runIf(haveChromium)('--html report in headless Chromium, offline', () => {
  let browser: Browser;
  let page: Page;
  let dir: string;
  let html: string;
  let report: { protocols: { name: string; witnesses: { events: { thread: number; text: string }[] }[] }[] };
  const requests: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hmmsim-html-'));
    html = join(dir, 'report.html');
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/hmmsim.js'),
        'merge',
        join(ROOT, 'test/fixtures/campaign-shard.json'),
        '--html',
        html,
        '--json',
        join(dir, 'r.json'),
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    if (r.status !== 0) throw new Error(`hmmsim exited ${r.status}: ${r.stderr}`);
    report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch(CHROMIUM_LAUNCH);
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, offline: true });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === pathToFileURL(html).href) return route.continue();
      requests.push(url);
      return route.abort();
    });
    page = await context.newPage();
    page.on('request', (req) => {
      if (req.url() !== pathToFileURL(html).href) requests.push(req.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is one file with nothing to fetch', () => {
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/https?:|<script|<link|src=/i);
    expect(text).toMatch(/Content-Security-Policy" content="default-src 'none'/);
  });

  it('opens and shows the verdict table and the witness as a timeline, a lane per thread', async () => {
    await page.goto(pathToFileURL(html).href);
    const rows = await page.locator('table.verdicts tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.protocol));
    expect(rows).toEqual(['kvm', 'hmm-valid-unlocked']);
    expect(await page.locator('tr[data-protocol="kvm"] td:last-child').innerText()).toBe('pass');

    const w = report.protocols[1].witnesses[0];
    expect(w).toBeDefined();
    const card = page.locator('section.witness').first();
    await expect(card.isVisible()).resolves.toBe(true);
    const threads = new Set(w.events.filter((e) => e.thread >= 0).map((e) => e.thread));
    // the table: '#' plus one column per thread; the SVG: one mark per event, one lane label per thread
    expect(await card.locator('.timeline thead th').count()).toBe(threads.size + 1);
    expect(await card.locator('.timeline tbody tr').count()).toBe(w.events.length);
    expect(await card.locator('svg.lanes rect').count()).toBe(w.events.filter((e) => e.thread >= 0).length);
    expect(await card.locator('svg.lanes text').count()).toBe(threads.size);
    const violating = card.locator('.timeline td.ev-viol').last();
    expect(await violating.isVisible()).toBe(true);
    expect(await violating.innerText()).toMatch(/USE-AFTER-FREE/);
    expect(await card.locator('.rerun').innerText()).toMatch(/^hmmsim stress --protocol hmm-valid-unlocked --seed 5/);
    const box = await card.locator('.timeline').boundingBox();
    expect(box && box.width > 200 && box.height > 100).toBe(true);

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  }, 30_000);
});
