#!/usr/bin/env node
/**
 * demo-stepper.mjs — what a step of the browser demo's stepper costs (demo/README.md, "Step
 * through a schedule"): each step is the schedule replayed from step 0 in the page's Web Workers.
 * For every corpus schedule (test/corpus/), it opens the built demo (`npm run build:demo` first)
 * in Debian's headless Chromium with the schedule in the URL, then jumps to `--steps` uncached
 * steps spread over the schedule and reads how long each replay took (the page's own figure),
 * beside the schedule's length. It also says whether the page's replay gave the recorded witness
 * byte for byte.
 *
 * `node bench/demo-stepper.mjs [--steps N]` prints one Markdown row per schedule.
 */
import { readFileSync, readdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { preview } from 'vite';
import { chromium } from 'playwright-core';

/** As test/chromium.ts launches it (a .ts file Node 20 cannot import): Debian's Chromium, headless. */
const CHROMIUM_LAUNCH = {
  executablePath: process.env.HMMSIM_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
};

const repo = fileURLToPath(new URL('..', import.meta.url));
const at = process.argv.indexOf('--steps');
const STEPS = at > 0 ? Number(process.argv[at + 1]) : 9;
if (!existsSync(join(repo, 'demo/dist/index.html'))) throw new Error('demo/dist missing: run npm run build:demo first');

const server = await preview({ configFile: join(repo, 'demo/vite.config.ts'), logLevel: 'error', preview: { host: '127.0.0.1', port: 0 } });
const url = server.resolvedUrls?.local[0];
const profile = mkdtempSync(join(tmpdir(), 'hmmsim-bench-'));
const context = await chromium.launchPersistentContext(profile, CHROMIUM_LAUNCH);
const page = context.pages()[0] ?? (await context.newPage());
/** @param {number[]} a */
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log('| schedule | points | step replay ms: median | min | max | witness |');
console.log('|---|---:|---:|---:|---:|---|');
try {
  for (const file of readdirSync(join(repo, 'test/corpus')).filter((f) => f.endsWith('.json'))) {
    const report = readFileSync(join(repo, 'test/corpus', file));
    await page.goto(`${url}?schedule=${gzipSync(report).toString('base64url')}`);
    await page.waitForFunction(() => ['stepping', 'schedule-error'].includes(document.body.dataset.state ?? ''), null, { timeout: 60_000 });
    const n = Number((await page.locator('#step-counter').textContent())?.split('/ ')[1]);
    const result = (await page.locator('#replay-result').textContent()) ?? '';
    const ms = [];
    for (let i = 1; i <= STEPS; i++) {
      const k = Math.round((n * i) / (STEPS + 1)) + 1; // away from the neighbours the page replays ahead
      await page.locator('#step-slider').fill(String(k));
      await page.waitForFunction((want) => document.getElementById('step-counter')?.textContent === want, `step ${k} / ${n}`, {
        timeout: 30_000,
      });
      ms.push(Number((await page.locator('#step-time').textContent())?.match(/in ([\d.]+) ms/)?.[1]));
    }
    const name = file.replace(/-[0-9a-f]{12}\.json$/, '');
    const same = /byte for byte/.test(result) ? 'recorded, byte for byte' : result;
    console.log(`| ${name} | ${n} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)} | ${Math.max(...ms).toFixed(0)} | ${same} |`);
  }
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
