/** hmmsim CLI (placeholder until the runner lands: version and usage). */
import { Command } from 'commander';
import { VERSION } from './version.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('hmmsim').version(VERSION).description('race lab for page-table-mirroring protocols');
  program.action(() => {
    program.outputHelp();
  });
  await program.parseAsync(argv, { from: 'user' });
}
