/**
 * demo-url.ts — `--demo-url [base]` of `hmmsim replay` and `hmmsim shrink`: a link that opens a
 * schedule in the browser demo's stepper (demo/README.md, "Step through a schedule"). The schedule
 * travels in the URL as `?schedule=` + base64url of its gzipped JSON (demo/schedule-input.ts
 * reads it back).
 */
import { gzipSync } from 'node:zlib';
import { InvalidArgumentError } from 'commander';
import type { Schedule } from '../api/types.js';

/** Where `npm run demo` serves the demo. */
export const DEMO_BASE = 'http://127.0.0.1:5173/';

/** The flag's value: the demo's address (http or https), or true for DEMO_BASE. */
export function parseDemoBase(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new InvalidArgumentError(`give the demo's http(s) address, e.g. ${DEMO_BASE} (npm run demo) or where demo/dist is hosted.`);
  return url.href;
}

/** The demo's link that opens `schedule` at step 0. */
export function demoUrl(schedule: Schedule, base: string | true = DEMO_BASE): string {
  const url = new URL(base === true ? DEMO_BASE : base);
  url.search = `schedule=${gzipSync(JSON.stringify(schedule)).toString('base64url')}`;
  return url.href;
}
