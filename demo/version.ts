/**
 * The hmmsim version in the page: src/api/version.ts reads package.json with node:fs, which a
 * browser has not, so demo/vite.config.ts resolves imports of it here (same field, same value:
 * a schedule replays only on the version that recorded it, src/schedule/schedule.ts).
 */
import { version } from '../package.json';

export const VERSION: string = version;
