export { toThread, threaded, defaultPool } from './default-pool.js';
export { Pool, createPool } from './pool.js';
export {
  ToThreadError,
  TimeoutError,
  PoolClosedError,
  UnsupportedFunctionError,
  WorkerExitError,
  QueueFullError,
  CloneError,
} from './errors.js';

export type { ToThread, Threaded, AnyFunction } from './to-thread.js';
export type { PoolOptions, PoolStats, PoolState } from './pool.js';
export type { CallOptions } from './call-options.js';
export type { ErrorCode, UnsupportedReason } from './errors.js';
