/** Node-only: resolve a plugin path given on the command line to a file URL. */
import { pathToFileURL } from 'node:url';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../api/errors.js';

export function pluginUrl(spec: string): string {
  const file = resolve(spec);
  if (!existsSync(file) || !statSync(file).isFile())
    throw new ConfigError(`protocol file ${spec} not found: give a path to an .mjs/.js module, or a built-in name (hmmsim list)`);
  return pathToFileURL(file).href;
}
