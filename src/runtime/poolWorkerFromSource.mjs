/**
 * Pool worker entry when Baton runs from TypeScript source (tsx, tests, benches). Node 20 does not
 * share the main thread's tsx loader hooks with worker threads, so this worker registers them
 * itself before loading `poolWorker.ts`. A built node (`dist/`) loads `poolWorker.js` directly.
 */
import { register } from 'tsx/esm/api';

register();
const { default: runTask } = await import('./poolWorker.ts');
export default runTask;
