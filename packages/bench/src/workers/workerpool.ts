/** The workerpool worker file: `pool.exec('increment', [x])` calls the registered method. */
import workerpool from 'workerpool';
import { increment } from './tasks.js';

workerpool.worker({ increment });
