/** The poolifier worker file: `pool.execute(x)` calls the worker's task function. */
import { ThreadWorker } from 'poolifier';
import { increment } from './tasks.js';

// poolifier types the task's data as optional.
export default new ThreadWorker<number, number>((x) => increment(x ?? 0));
