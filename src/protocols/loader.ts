/**
 * loader.ts — load a protocol module (built-in or a user's file) and check its default export
 * against the plugin API, with one-line errors that say what to add.
 */
import { ConfigError } from '../api/errors.js';
import { VIOLATION_KINDS } from '../api/kinds.js';
import { EVENT_NAMES, ROLE_NAMES } from '../api/types.js';
import { FIELD_TYPES } from '../model/state.js';
import { REQUIRED_METHODS, type MirrorProtocol } from './api.js';

const OOM_REAPERS: readonly string[] = ['nonblocking-notifier', 'skip-if-notifiers', 'unmap-without-notifier'];

/** Check a module's default export; throws ConfigError naming the protocol and what is wrong. */
export function validateProtocol(p: unknown, where: string): MirrorProtocol {
  if (!p || typeof p !== 'object')
    throw new ConfigError(`${where}: has no default export object: export default { name, invalidateStart, invalidateEnd, populate }`);
  const proto = p as Partial<MirrorProtocol>;
  const name = typeof proto.name === 'string' && proto.name ? proto.name : where;
  if (typeof proto.name !== 'string' || !proto.name) throw new ConfigError(`${where}: protocol has no name (add name: '...')`);
  for (const m of REQUIRED_METHODS)
    if (typeof proto[m] !== 'function')
      throw new ConfigError(`protocol ${name} (${where}) lacks method ${m}(): see the plugin API in the README`);
  for (const scope of ['mmState', 'subState', 'rangeState'] as const) {
    const s = proto[scope];
    if (s === undefined) continue;
    if (typeof s !== 'object' || s === null) throw new ConfigError(`protocol ${name}: ${scope} must be an object of field: type`);
    for (const [k, t] of Object.entries(s))
      if (!FIELD_TYPES.includes(t))
        throw new ConfigError(`protocol ${name}: ${scope}.${k} has unknown type '${t}' (use ${FIELD_TYPES.join(', ')})`);
  }
  const oomReaper = proto.mmOptions?.oomReaper;
  if (oomReaper !== undefined && !OOM_REAPERS.includes(oomReaper))
    throw new ConfigError(`protocol ${name}: mmOptions.oomReaper must be one of ${OOM_REAPERS.join(', ')} (got '${oomReaper}')`);
  if (
    proto.events !== undefined &&
    (!Array.isArray(proto.events) || !proto.events.length || proto.events.some((x) => !(EVENT_NAMES as readonly string[]).includes(x)))
  )
    throw new ConfigError(`protocol ${name}: events must be a non-empty list of ${EVENT_NAMES.join(', ')}`);
  const roles = proto.roles;
  if (
    roles !== undefined &&
    (typeof roles !== 'object' ||
      roles === null ||
      ROLE_NAMES.some((r) => !Number.isInteger(roles[r] ?? 1) || (roles[r] ?? 1) < 1 || (roles[r] ?? 1) > 8) ||
      Object.keys(roles).some((k) => !(ROLE_NAMES as readonly string[]).includes(k)))
  )
    throw new ConfigError(`protocol ${name}: roles must map each of ${ROLE_NAMES.join(', ')} to 1..8 threads (a role left out gets 1)`);
  const e = proto.expect;
  if (e !== undefined && e !== 'sound') {
    if (typeof e !== 'object' || !Array.isArray(e.violates) || e.violates.some((k) => !(VIOLATION_KINDS as readonly string[]).includes(k)))
      throw new ConfigError(`protocol ${name}: expect must be 'sound' or { violates: [${VIOLATION_KINDS.join(', ')}] }`);
  }
  return { description: '', ...proto, expect: e ?? 'sound' } as MirrorProtocol;
}

/** Import a protocol module by URL and validate its default export. */
export async function importProtocol(url: string, where: string): Promise<MirrorProtocol> {
  let mod: { default?: unknown };
  try {
    mod = await import(url);
  } catch (err) {
    throw new ConfigError(`protocol ${where} could not be loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateProtocol(mod.default, where);
}
