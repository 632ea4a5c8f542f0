export { toThread, threaded, defaultPool } from './default-pool.js';
export { Pool, createPool } from './pool.js';
export { transfer } from './args.js';
export { wrapModule } from './module/facade.js';
export { createInstance, releaseInstance } from './module/instance.js';
export { CancelScope, cancelScope, shield, timeout } from './asyncio/scope.js';
export { Task, createTask } from './asyncio/task.js';
export { waitFor } from './asyncio/wait-for.js';
export { gather } from './asyncio/gather.js';
export { asCompleted } from './asyncio/as-completed.js';
export { TaskGroup, taskGroup } from './asyncio/task-group.js';
export { Semaphore, limit } from './asyncio/semaphore.js';
export { Queue } from './asyncio/queue.js';
export { map } from './asyncio/map.js';
export {
  ToThreadError,
  TimeoutError,
  PoolClosedError,
  UnsupportedFunctionError,
  WorkerExitError,
  QueueFullError,
  CloneError,
  CancelledError,
  TaskGroupError,
  TaskGroupClosedError,
  QueueEmptyError,
  QueueShutDownError,
  ModuleNotFoundError,
  ModuleLoadError,
  ExportError,
  CallbackError,
  InstanceError,
} from './errors.js';

export type { ToThread, Threaded, AnyFunction } from './to-thread.js';
export type { PoolStats, PoolState } from './pool.js';
export type { PoolOptions } from './pool-options.js';
export type { CallOptions } from './call-options.js';
export type { ErrorCode, UnsupportedReason, ExportProblem } from './errors.js';
export type { ScopeOptions } from './asyncio/scope.js';
export type { TaskState, TaskOptions, Awaitable, AwaitedOf } from './asyncio/task.js';
export type { Gather, GatherSettled, GatherOptions } from './asyncio/gather.js';
export type { Permit, AcquireOptions } from './asyncio/semaphore.js';
export type { QueueOptions, QueueWaitOptions } from './asyncio/queue.js';
export type { MapOptions } from './asyncio/map.js';
export type { Facade, Wrapped, WrapModuleOptions } from './module/facade.js';
export type { Instance, InstanceOf, InstanceArgs, InstanceOptions } from './module/instance.js';
export type { Offloaded } from './to-thread.js';
export type { ArgsOf, ResultOf } from './overloads.js';
