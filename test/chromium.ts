/**
 * chromium.ts — how the browser tests find and start Debian's headless Chromium (driven with
 * playwright-core; no browser is ever downloaded).
 */

/** Debian's Chromium; HMMSIM_CHROMIUM overrides the path (e.g. to check the skip/fail paths). */
export const CHROMIUM = process.env.HMMSIM_CHROMIUM ?? '/usr/bin/chromium';

/** What to run when it is missing (.ci/run does it). */
export const CHROMIUM_INSTALL = 'apt-get update && apt-get install -y chromium';

/** playwright-core launch options for a headless run that talks to nothing but the page. */
export const CHROMIUM_LAUNCH = {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
};
