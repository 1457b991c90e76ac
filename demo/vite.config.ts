/**
 * Vite config for the browser demo (`npm run demo`, `npm run build:demo`).
 *
 * The page needs SharedArrayBuffer (one shared WebAssembly.Memory for every Web Worker), which a
 * browser only grants to a cross-origin isolated page: both servers send the two headers below.
 * A static host serving demo/dist must send them too (see demo/README.md).
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: here,
  base: './',
  clearScreen: false,
  server: {
    host: '127.0.0.1',
    headers: ISOLATION_HEADERS,
    // the core (../src) and the Wasm (../build) live outside the demo folder
    fs: { allow: [repo] },
  },
  preview: {
    host: '127.0.0.1',
    headers: ISOLATION_HEADERS,
  },
  resolve: {
    // src/api/version.ts reads package.json with node:fs; the page imports the same field (demo/version.ts)
    alias: [{ find: /^(\.\.\/)+api\/version\.js$/, replacement: fileURLToPath(new URL('./version.ts', import.meta.url)) }],
  },
  // nothing from node_modules runs in the page: skip the dependency scan
  optimizeDeps: { noDiscovery: true, include: [] },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
});
