/**
 * protocols.ts — the one place a protocol spec (--protocol value, runStress's `protocol`) is
 * resolved: 'all', 'history', a built-in name, or a path to a plugin module. The CLI checks specs with it
 * before a run starts; the runner resolves them with it to module URLs. Node-only (files are
 * checked on disk): the browser demo lists its protocols itself and never imports this file.
 */
import { pathToFileURL } from 'node:url';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../api/errors.js';
import { BUILTIN_FOLDERS } from '../protocols/builtin.js';

/** Does this spec name a file rather than a built-in? A slash, a leading dot or a module extension. */
export function isPath(spec: string): boolean {
  return /[\\/]/.test(spec) || /\.(m?js|cjs|ts|mts)$/i.test(spec) || spec.startsWith('.');
}

/** One resolved spec: every built-in ('all'), one built-in, or a plugin file (absolute path). */
export type ResolvedProtocol =
  | { kind: 'all' }
  | { kind: 'history' }
  | { kind: 'builtin'; name: string }
  | { kind: 'plugin'; spec: string; file: string };

/** A plugin path, made absolute and checked to be a file. Throws ConfigError (exit 2) otherwise. */
export function pluginFile(spec: string): string {
  const file = resolve(spec);
  if (!existsSync(file))
    throw new ConfigError(
      `protocol file ${spec} not found (looked at ${file}): give a path to an .mjs/.js module, or a built-in name (hmmsim list)`,
    );
  if (!statSync(file).isFile()) throw new ConfigError(`protocol file ${spec} is not a file: give a path to an .mjs/.js module`);
  return file;
}

/** A plugin path as the file URL import() takes. */
export function pluginUrl(spec: string): string {
  return pathToFileURL(pluginFile(spec)).href;
}

/**
 * Resolve specs against the built-ins: 'all' (any case), names (exact; a near miss in case is
 * suggested), paths (see isPath; checked to exist). Keeps the order given and drops duplicates;
 * 'all' comes first and absorbs the built-ins named beside it. Throws ConfigError otherwise.
 */
export function resolveProtocols(specs: string | readonly string[], builtins: readonly string[]): ResolvedProtocol[] {
  const list = typeof specs === 'string' ? [specs] : specs;
  if (list.length === 0) throw new ConfigError('no protocol given: use --protocol <name|path|all> (hmmsim list shows the names)');
  const out: ResolvedProtocol[] = [];
  const seen = new Set<string>();
  let all = false;
  for (const spec of list) {
    if (spec.toLowerCase() === 'all') {
      all = true;
    } else if (spec.toLowerCase() === 'history') {
      if (!seen.has('history')) out.push({ kind: 'history' });
      seen.add('history');
    } else if (builtins.includes(spec)) {
      if (!seen.has(spec)) out.push({ kind: 'builtin', name: spec });
      seen.add(spec);
    } else if (isPath(spec)) {
      const file = pluginFile(spec);
      if (!seen.has(file)) out.push({ kind: 'plugin', spec, file });
      seen.add(file);
    } else {
      const near = builtins.filter((b) => b.toLowerCase() === spec.toLowerCase());
      const hint = near.length > 0 ? ` (did you mean ${near[0]}?)` : '';
      throw new ConfigError(
        `unknown protocol '${spec}'${hint}: use one of ${builtins.join(', ')}, all, history, or a path to a plugin module (./my-driver.mjs)`,
      );
    }
  }
  // 'all' is every built-in outside history/: the history pairs named beside it are kept
  const inAll = (p: ResolvedProtocol) => p.kind === 'builtin' && (BUILTIN_FOLDERS as Record<string, string>)[p.name] !== 'history';
  return all ? [{ kind: 'all' }, ...out.filter((p) => !inAll(p))] : out;
}

/** A resolved spec as runStress's `protocol` takes it ('all', a name, or an absolute path). */
export function specOf(p: ResolvedProtocol): string {
  return p.kind === 'all' || p.kind === 'history' ? p.kind : p.kind === 'builtin' ? p.name : p.file;
}
