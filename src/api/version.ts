import { readFileSync } from 'node:fs';
/** The package version (package.json is the only place it is written). */
export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
