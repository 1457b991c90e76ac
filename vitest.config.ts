import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the stress tests use every core with real worker threads: run files one at a time so they
    // do not starve each other on a 2-core machine
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
