/** hmmsim as a library. */
export { runStress, listProtocols, verdictOf, DEFAULTS } from './run/runner.js';
export type * from './api/types.js';
export { EVENT_NAMES, ROLE_NAMES, DEFAULT_EVENTS } from './api/types.js';
export { ConfigError } from './api/errors.js';
export { LayoutError, VIOLATION_KINDS } from './memory/layout.js';
export type { MirrorProtocol, StateSchema, PopulateResult } from './protocols/api.js';
export type { Ctx, Sub, HmmRange, Invalidation, Word } from './model/ctx.js';
export { VERSION } from './api/version.js';
