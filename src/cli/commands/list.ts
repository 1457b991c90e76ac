/**
 * list.ts — `hmmsim list`: the built-in protocols, one line each.
 */
import type { Command } from 'commander';
import { formatHistoryList, formatList } from '../format.js';
import { loadRunner } from '../runner-api.js';
import { io, type CommandState } from '../io.js';

export function addListCommand(program: Command, state: CommandState): void {
  program
    .command('list')
    .description('list the built-in protocols: name, expectation (sound, or the violations it must show), what it does')
    .option('--history', "only the kernel's own fixed races: each bug and its fix, with the commit")
    .action(async (opts: { history?: boolean }) => {
      const runner = await loadRunner();
      const protocols = await runner.listProtocols();
      io.out(opts.history ? formatHistoryList(protocols) : formatList(protocols));
      state.code = 0;
    });
}
