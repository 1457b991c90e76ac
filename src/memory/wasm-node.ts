/** Node-only: load and compile build/hmmsim.wasm once per thread. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let compiled: WebAssembly.Module | undefined;
export const WASM_PATH = fileURLToPath(new URL('../../build/hmmsim.wasm', import.meta.url));

export function loadModule(): WebAssembly.Module {
  if (!compiled) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(WASM_PATH);
    } catch {
      throw new Error(`hmmsim: ${WASM_PATH} is missing: run \`npm run build\` (npm install does it)`);
    }
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}
