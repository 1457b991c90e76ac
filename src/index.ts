/** hmmsim as a library. */
export { runStress, listProtocols, verdictOf, DEFAULTS } from './runner.js';
export type * from './types.js';
export { EVENT_NAMES, ROLE_NAMES, DEFAULT_EVENTS } from './types.js';
export { ConfigError } from './errors.js';
export { LayoutError, VIOLATION_KINDS } from './layout.js';
export type { MirrorProtocol, StateSchema, PopulateResult } from './protocol.js';
export type { Ctx, Sub, HmmRange, Invalidation, Word } from './ctx.js';
export { VERSION } from './version.js';
