// sync-worker.mjs — one thread of the sync primitives' stress tests: runs the scenario named in
// workerData (see sync-common.mjs for the protocol with the test).
import { runScenario } from './sync-common.mjs';
import { mutexScenarios } from './sync-mutex.mjs';
import { rwsemScenarios } from './sync-rwsem.mjs';
import { waitScenarios } from './sync-wait.mjs';
import { contendScenarios } from './sync-contend.mjs';

runScenario({ ...mutexScenarios, ...rwsemScenarios, ...waitScenarios, ...contendScenarios });
