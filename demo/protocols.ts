/**
 * The built-in protocols, imported statically (the same modules Node loads from dist/), keyed by
 * name. In the browser a protocol cannot be loaded from RoleTask.protocolUrl (a file URL of the
 * compiled module): the page and every worker use this map instead. The list and its order come
 * from src/protocols/builtin.ts, so a protocol added there shows up here.
 */
import { BUILTIN_PROTOCOLS } from '../src/protocols/builtin.js';
import { validateProtocol } from '../src/protocols/loader.js';
import type { MirrorProtocol } from '../src/protocols/api.js';

const modules = import.meta.glob<{ default: unknown }>(['../src/protocols/*/*.ts'], { eager: true });

// only the registry's names: a folder may also hold helpers shared by its protocols
const builtin = new Set<string>(BUILTIN_PROTOCOLS);
const byName = new Map<string, MirrorProtocol>();
for (const [path, mod] of Object.entries(modules)) {
  const file = path.replace(/^.*\//, '').replace(/\.ts$/, '');
  if (builtin.has(file)) byName.set(file, validateProtocol(mod.default, file));
}

/** Built-in names, in src/protocols/builtin.ts order (only those whose module is present). */
export const PROTOCOL_NAMES: string[] = (BUILTIN_PROTOCOLS as readonly string[]).filter((n) => byName.has(n));

export function getProtocol(name: string): MirrorProtocol {
  const p = byName.get(name);
  if (!p) throw new Error(`unknown protocol '${name}': use one of ${PROTOCOL_NAMES.join(', ')}`);
  return p;
}
