#!/usr/bin/env node
// hmmsim command-line entry: the CLI lives in src/cli.ts (compiled to dist/cli.js by `npm run build`).
import('../dist/cli.js').then((m) => m.main(process.argv.slice(2)), (err) => {
  process.stderr.write(`hmmsim: cannot load dist/cli.js (${err.code ?? err.message}): run \`npm install\` or \`npm run build\` first\n`);
  process.exit(3);
});
