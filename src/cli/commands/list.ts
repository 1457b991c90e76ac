/**
 * list.ts — `hmmsim list`: the built-in protocols, one line each.
 */
import type { Command } from 'commander';
import { formatList } from '../format.js';
import { loadRunner } from '../runner-api.js';
import { io, type CommandState } from '../io.js';

export function addListCommand(program: Command, state: CommandState): void {
  program
    .command('list')
    .description('list the built-in protocols: name, expectation (sound, or the violations it must show), what it does')
    .action(async () => {
      const runner = await loadRunner();
      io.out(formatList(await runner.listProtocols()));
      state.code = 0;
    });

}
