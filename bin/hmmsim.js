#!/usr/bin/env node
// hmmsim command-line entry: the CLI lives in src/cli/main.ts (compiled to dist/cli/main.js by `npm run build`).
import('../dist/cli/main.js').then(
  (m) => m.main(process.argv.slice(2)),
  (err) => {
    process.stderr.write(
      `hmmsim: cannot load dist/cli/main.js (${err.code ?? err.message}): run \`npm install\` or \`npm run build\` first\n`,
    );
    process.exit(3);
  },
);
