/**
 * The Piscina pool under a tothread pool. Piscina owns the workers: spawning, replacing a dead
 * one, reaping idle ones, resource limits. It is loaded at the first call, not at import, so that
 * importing tothread starts nothing and loads little.
 */
import { access } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import type { Resolved } from './pool-options.js';
import type { TaskRequest, WorkerSettings } from './protocol.js';
import { TIMER_MAX } from './validate.js';
import { WorkerExitError } from './errors.js';

const WORKER_FILE = fileURLToPath(new URL('./worker.cjs', import.meta.url));
const load = createRequire(import.meta.url);
/**
 * The thread ids of the workers each pool has seen become ready. keepStarting takes a worker's
 * out as it goes (the set holds live workers only).
 */
const readiness = new WeakMap<Piscina, Set<number>>();

/**
 * Notes which of `piscina`'s workers are ready, from its `workerCreate` events: emitted once a
 * worker has booted and loaded the worker file, or at once for the `minThreads` workers Piscina
 * starts with (it marks those ready from the start).
 */
export function trackReadiness(piscina: Piscina): void {
  const ready = new Set<number>();
  readiness.set(piscina, ready);
  piscina.on('workerCreate', ({ id }: { id: number }) => ready.add(id));
}

/** How many of `piscina`'s workers are still starting: spawned, not yet ready for a task. */
export function startingWorkers(piscina: Piscina): number {
  const ready = readiness.get(piscina);
  return ready === undefined ? 0 : piscina.threads.filter((thread) => !ready.has(thread.threadId)).length;
}

/**
 * What a call gets when Node could not create a worker thread (`new Worker` threw
 * `ERR_WORKER_INIT_FAILED`: no memory or thread left for it, or a stack too large): a
 * WorkerExitError saying so, with Node's error as its cause. Any other error as it is.
 */
export function startFailure(error: unknown): unknown {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INIT_FAILED') return error;
  const detail = (error as Error).message;
  return new WorkerExitError(
    `No worker thread could start: Node could not create one (${detail}). Check the pool's resourceLimits (stackSizeMb) and the process's limits on threads and memory; the next call tries again`,
    undefined,
    { cause: error },
  );
}

let libuvStarted = false;

/**
 * Makes sure libuv's thread pool (async fs, crypto, zlib, `dns.lookup`) runs at the main thread's
 * priority before a worker lowers its own by `niceIncrement` (see worker/priority.ts): there is one
 * per process, started by the first thread that uses it, and Linux threads inherit the nice value
 * of the thread that starts them. Any request to it from here starts it: one cheap `access()`, once
 * per process.
 */
export function startLibuvThreads(niceIncrement: number): void {
  if (niceIncrement <= 0 || process.platform !== 'linux' || libuvStarted) return;
  libuvStarted = true;
  access(WORKER_FILE, () => {});
}

/**
 * Starts the workers of a pool with `options`; `onMessage` gets what workers post outside a task's
 * result, `onFailure` a worker's failure outside any task (true: it reached the calls it concerns,
 * otherwise it is reported as a process warning).
 */
export function startWorkers(
  options: Resolved,
  onMessage: (message: unknown) => void,
  onFailure: (piscina: Piscina, error: unknown) => boolean,
  booted: () => boolean,
): Piscina {
  const { min, ceiling, idleTimeout, niceIncrement, rest } = options;
  startLibuvThreads(niceIncrement);
  const { Piscina: PiscinaPool } = load('piscina') as typeof import('piscina');
  const piscina = new PiscinaPool({
    filename: WORKER_FILE,
    minThreads: min,
    maxThreads: ceiling,
    idleTimeout: Math.min(idleTimeout, TIMER_MAX), // Infinity would make Node's timer fire at once
    recordTiming: false,
    // An idle worker waits for its next task with its event loop turning (Atomics.waitAsync), not
    // blocked in Atomics.wait: a timer or an unhandled rejection a finished call left behind runs
    // then, and does not wait for (and fail) a later call. Measured: no cost to the round trip.
    atomics: 'async',
    workerData: { niceIncrement } satisfies WorkerSettings,
    ...(rest.resourceLimits ? { resourceLimits: rest.resourceLimits } : {}),
    ...(rest.env !== undefined ? { env: rest.env as never } : {}),
    ...(rest.execArgv ? { execArgv: rest.execArgv } : {}),
  });
  piscina.on('message', onMessage);
  trackReadiness(piscina);
  keepStarting(piscina, onFailure, booted);
  // Piscina reports here what happens outside any task; without a listener it would crash the
  // process. A late result racing an abort is expected and harmless: the call already settled.
  piscina.on('error', (error: unknown) => {
    if (String((error as Error | undefined)?.message).startsWith('Unexpected message from Worker')) return;
    if (onFailure(piscina, error)) return;
    warnWorkerFailed(error);
  });
  return piscina;
}

/** What makes Piscina start a worker: a call of a function that does nothing. */
const WAKE: TaskRequest = { fn: { kind: 'source', id: -1, source: '() => undefined', method: false, name: 'wake' }, args: [] };

/**
 * Once a worker has died before it was ready (terminated while starting, say), Piscina starts none
 * in place of those that die after it; and it starts none below `minThreads` (0 by default). With
 * every worker gone, a task it had queued would wait for ever, and `close()` with it. Running a task
 * starts one, which takes the queued tasks first: a call that does nothing is run then, one at a
 * time. If the last worker gone had not started, and no worker of the pool ever has (`booted`), or
 * the one this started did not either (a preload in execArgv that exits), no worker can start: that
 * is `onFailure`'s, as a worker failing to start with an error is (it fails the calls, and the next
 * call starts the workers afresh).
 */
function keepStarting(piscina: Piscina, onFailure: (piscina: Piscina, error: unknown) => boolean, booted: () => boolean): void {
  let waking = false;
  piscina.on('workerDestroy', ({ id }: { id: number }) => {
    const started = readiness.get(piscina)?.delete(id) === true;
    setImmediate(() => {
      if (piscina.threads.length > 0 || piscina.queueSize === 0) return;
      if (!started && (waking || !booted())) {
        onFailure(piscina, new Error('a worker thread exited before it had started'));
        return;
      }
      if (waking) return;
      waking = true;
      piscina.run(WAKE).then(
        () => (waking = false),
        () => (waking = false),
      );
    });
  });
}

/** A worker failed where no call can take the error (between calls, or after them): it is said, not dropped. */
export function warnWorkerFailed(error: unknown): void {
  process.emitWarning(`A tothread worker failed outside any call: ${String(error)}`, { code: 'TOTHREAD_WORKER_ERROR' });
}
