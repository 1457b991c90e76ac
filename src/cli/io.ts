/**
 * io.ts — what every command shares: output streams, one-line errors, and the notes the help
 * texts repeat.
 */
import { ConfigError } from '../api/errors.js';
import { LayoutError } from '../memory/layout.js';

export const SEED_NOTE =
  'Reproducing: --seed N repeats the same workload choices (addresses, event kinds, range\n' +
  'lengths, delays). The interleaving of real threads is up to the OS and cannot be reproduced,\n' +
  'so a rerun with the same seed may find a violation sooner, later or not at all.\n' +
  'With --mode controlled one thread runs at a time under a seeded scheduler: the same seed\n' +
  'repeats every schedule exactly, and hmmsim replay reruns a reported one (docs/cli.md).';

export const EXIT_NOTE =
  'Exit codes: 0 every verdict as expected; 1 some verdict differs from its expectation;\n' +
  '2 usage or config error; 3 harness failure (worker crashed, plugin threw, watchdog on the harness).';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const io: Io = {
  out: (s) => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => void process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

export function isConfigError(err: unknown): boolean {
  return (
    err instanceof ConfigError ||
    err instanceof LayoutError ||
    (err instanceof Error && (err.name === 'ConfigError' || err.name === 'LayoutError'))
  );
}

export const oneLine = (s: string): string => s.trim().replace(/\s*\n\s*/g, ' ');

/** The mutable exit code a command's action sets. */
export interface CommandState {
  code: number;
}
