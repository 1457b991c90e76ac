/**
 * cli/runner-api.ts — the runner as the CLI sees it, loaded lazily (so --help, --version and
 * bad flags answer at once, without loading Wasm, piscina or the protocols).
 */
import type { Expectation, RunResult, StressOptions } from '../api/types.js';
import type { HistoryInfo } from '../protocols/api.js';

export interface BuiltinProtocol {
  name: string;
  expect: Expectation;
  description: string;
  history?: HistoryInfo;
}

export interface RunnerApi {
  listProtocols(): Promise<BuiltinProtocol[]>;
  runStress(opts: StressOptions): Promise<RunResult>;
}

export async function loadRunner(): Promise<RunnerApi> {
  const mod = await import('../run/runner.js');
  return {
    listProtocols: async () => await mod.listProtocols(),
    runStress: (opts) => mod.runStress(opts),
  };
}
