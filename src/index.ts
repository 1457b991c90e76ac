/** hmmsim as a library. */
export { runStress, listProtocols, verdictOf, DEFAULTS } from './run/runner.js';
export type * from './api/types.js';
export { EVENT_NAMES, ROLE_NAMES, DEFAULT_EVENTS } from './api/types.js';
export { ConfigError } from './api/errors.js';
export { LayoutError } from './memory/layout.js';
export { VIOLATION_KINDS } from './api/kinds.js';
export type { MirrorProtocol, StateSchema, PopulateResult, HistoryInfo, MmOptions } from './protocols/api.js';
export { notifierChain, type NotifierSubscriber, type EndPairing } from './model/mm/subscribers.js';
export type { Ctx } from './model/ctx.js';
export type { Sub, HmmRange, Invalidation } from './model/range.js';
export type { Word } from './model/state.js';
export { VERSION } from './api/version.js';
export { replay, loadFailures, type ReplayResult, type ReplayOptions, type StoredFailure } from './schedule/replay.js';
export { shrink, type ShrinkResult, type ShrinkOptions } from './schedule/shrink.js';
export { saveFailures } from './schedule/corpus.js';
export { mutate } from './mutate/run.js';
export type { MutateOptions, MutationReport, MutantResult, MutantOutcome, MutantCoverage, MutationBaseline } from './mutate/run.js';
export { OPERATORS, type Operator, type Site } from './mutate/sites.js';
