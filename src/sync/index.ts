export * from './env.js';
export { Mutex } from './mutex.js';
export { RwSem } from './rwsem.js';
export { SeqCount } from './seqcount.js';
export { WaitQueue, Completion } from './waitqueue.js';
