/**
 * One call's life on the main thread: queued in the pool, running on a worker, settled. Settling
 * is idempotent, so an abort racing a result, or a timeout racing a crash, settles exactly once.
 */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { closeCallbacks } from './args.js';
import { received } from './buffers.js';
import { locate, stitch, type Site } from './call-site.js';
import { decodeThrown, innerThrown } from './error-codec.js';
import { cancelledBy, quiet, TaskSignal } from './cancel.js';
import { watchSignal } from './signal-watch.js';
import { CloneError, TimeoutError, WorkerExitError } from './errors.js';
import { loadedExport } from './fn/locate.js';
import type { CallSettings } from './call-options.js';
import type { Batch } from './batch.js';
import type { CtorRef, FnRef, TaskRequest, TaskResponse, WireThrown } from './protocol.js';

/** Where a call is in its life. */
export type CallState = 'queued' | 'running' | 'settled';

/** How a call ended. */
export type CallOutcome = 'completed' | 'failed' | 'cancelled';

let made = 0;
/** What a call that moves nothing and has no callbacks shares: one empty list for all. */
const NONE: readonly never[] = Object.freeze([]);

/** What a call tells its pool: made once per pool, shared by all its calls. */
export interface CallHooks {
  /** The call settled; `prior` is where it was in its life. */
  settled(call: Call, prior: CallState): void;
  /** The call is to stop: its promise was cancelled, or a signal of its aborted. */
  cancel(call: Call, reason: unknown): void;
  /** A signal of the call aborted: stops it now if it has not started (see signal-watch.ts); `cancel` follows. */
  cancelUnstarted(call: Call, reason: unknown): void;
}

/** One call on the main thread: its request, its settings, its promise, and how it settles. */
export class Call {
  /** Its place in call order: calls taken back from a worker go back to the queue in this order. */
  readonly seq = made++;
  state: CallState = 'queued';
  outcome: CallOutcome | undefined;
  /** The worker's answer has arrived: nothing else (a timeout, close()) may settle the call now. */
  answered = false;
  /** What travels to the worker; its `fn` may be the short `known` form of `target`. */
  readonly request: TaskRequest;
  /** The full description of the function, sent again if a worker does not know the short form. */
  readonly target: FnRef;
  readonly settings: CallSettings;
  readonly promise: Promise<unknown>;
  /** The promise its caller holds (see Pool#enqueue): not reported unhandled when its own signal or scope cancels it. */
  shown: Promise<unknown> | undefined;
  #taskSignal: TaskSignal | undefined;
  timer: NodeJS.Timeout | undefined;
  /** After a cancel with a grace period: terminates the worker if it is still busy when it fires. */
  #graceTimer: NodeJS.Timeout | undefined;
  /** Cancelled while running, with a grace period: the function may still call back until its worker is done. */
  #lingering = false;
  /** It went to a worker that died before starting it, and was sent again (it is not a second time). */
  sentAgain = false;
  /** A plain call that moves nothing and needs no message of its own: it may travel in a batch. */
  batchable = false;
  /** Cancelled by tothread itself, as nobody's call (see withdrawal in cancel.ts): not counted. */
  withdrawn = false;
  /** The batch it runs in, its slot there and the id its answer comes back with. */
  batch: Batch | undefined;
  slot = -1;
  id = -1;
  /** The explicit signal and the ambient scope's: either one cancels the call. */
  readonly #signals: readonly AbortSignal[];
  #unwatch: Array<() => void> | undefined;
  /** Where the call was made: frames captured at the call, or found when it fails (see call-site.ts). */
  readonly #site: Site;
  #resolve!: (value: unknown) => void;
  #reject!: (reason: unknown) => void;
  readonly #hooks: CallHooks;

  /** What moves with the request instead of being copied. */
  readonly transfer: readonly TransferListItem[];
  /** This thread's ends of callback ports: closed when the call settles. */
  readonly #ports: readonly MessagePort[];

  constructor(
    request: TaskRequest,
    settings: CallSettings,
    signals: readonly AbortSignal[],
    site: Site,
    hooks: CallHooks,
    transfer: readonly TransferListItem[] = NONE,
    ports: readonly MessagePort[] = NONE,
    target: FnRef = request.fn,
  ) {
    this.request = request;
    this.target = target;
    this.transfer = transfer;
    this.#ports = ports;
    this.settings = settings;
    this.#signals = signals;
    this.#site = site;
    this.#hooks = hooks;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The call's timeout when it counts run time only (`timeoutFrom: 'start'`, the default). */
  get runTimeout(): number | undefined {
    return this.settings.timeoutFrom === 'call' ? undefined : this.settings.timeout;
  }

  get name(): string {
    return nameOf(this.target);
  }

  /** Aborting it makes Piscina terminate and replace the worker running the call (made for a call sent alone). */
  get taskSignal(): TaskSignal {
    return (this.#taskSignal ??= new TaskSignal());
  }

  /** Stops the call (see Pool): what cancelling its promise does. */
  cancel(reason: unknown): void {
    this.#hooks.cancel(this, reason);
  }

  /** A signal of the call aborted: it stops now if it has not started; {@link cancel} follows. */
  cancelUnstarted(reason: unknown): void {
    this.#hooks.cancelUnstarted(this, reason);
  }

  /** The first of its signals that has aborted, if one has: its cancel has come, or is on its way (see signal-watch.ts). */
  abortedBy(): AbortSignal | undefined {
    for (let i = 0; i < this.#signals.length; i++) if (this.#signals[i]!.aborted) return this.#signals[i];
    return undefined;
  }

  /** Cancels the call with the reason of whichever of its signals aborts first. */
  listen(): void {
    if (this.#signals.length > 0) this.#unwatch = watchAll(this.#signals, this);
  }

  /**
   * Settles once; later calls are ignored, and so is anything but the answer once the answer has
   * arrived. Returns whether this call settled it.
   */
  settle(ok: boolean, value: unknown, outcome: CallOutcome = ok ? 'completed' : 'failed', fromAnswer = ok): boolean {
    if (this.state === 'settled' || (this.answered && !fromAnswer)) return false;
    const prior = this.state;
    this.state = 'settled';
    this.outcome = outcome;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.#unwatch !== undefined) for (const unwatch of this.#unwatch.splice(0)) unwatch();
    if (!this.#lingering) this.#closePorts();
    if (ok) this.#resolve(value);
    else {
      this.#reject(value);
      if (outcome === 'cancelled' && this.shown !== undefined && cancelledBy(value, this.#signals)) quiet(this.shown);
    }
    this.#hooks.settled(this, prior);
    return true;
  }

  /**
   * Cancels a running call whose worker gets `grace` ms to finish (it sees the cancel through its
   * `cancelFlag`): the promise rejects at once with `reason`, but the call's callbacks keep
   * answering the worker until it is done, and `stop` runs if it is still busy when the period ends.
   * Returns false if the call had settled already.
   */
  cancelWithGrace(reason: unknown, grace: number, stop: () => void, outcome: CallOutcome = 'cancelled'): boolean {
    if (this.state === 'settled' || this.answered) return false;
    this.#lingering = true;
    this.settle(false, reason, outcome);
    this.#graceTimer = setTimeout(stop, grace);
    this.#graceTimer.unref();
    return true;
  }

  /** The call's worker answered or was stopped: ends a grace period (its timer, its callbacks' ports). */
  workerDone(): void {
    if (!this.#lingering) return;
    clearTimeout(this.#graceTimer);
    this.#closePorts();
  }

  #closePorts(): void {
    if (this.#ports.length > 0) closeCallbacks(this.#ports);
  }

  /** Settles from the worker's answer that the call returned `value` (`failed`: a stream that ended with an error, which it delivered itself). */
  resolveWith(value: unknown, outcome: CallOutcome = 'completed'): void {
    this.answered = true;
    this.settle(true, value, outcome);
  }

  /**
   * Settles from the worker's answer, rebuilding a thrown error with its class and both stacks: at
   * once for a value, asynchronously for an error (its class may have to be loaded). Never rejects:
   * a failure to rebuild settles the call with that failure.
   */
  answer(response: TaskResponse): Promise<void> | undefined {
    if (response.ok) {
      this.resolveWith(received(response.value, response.buffer, response.nested), response.failed ? 'failed' : 'completed');
      return undefined;
    }
    this.answered = true;
    if ('missing' in response) return undefined; // the pool sends it again in full; see Pool#run
    if ('uncloneable' in response) {
      this.settle(false, this.locate(new CloneError(response.uncloneable.path, response.uncloneable.detail)), 'failed', true);
      return undefined;
    }
    return rebuildThrown(response.thrown).then((thrown) => {
      this.stitch(thrown);
      this.settle(false, thrown, 'failed', true);
    });
  }

  /**
   * Settles from a Piscina rejection: the worker died under the call (`running`), the task never
   * reached it (`starting`: no worker could start to run it), or it died after the call had
   * answered, before the answer reached this thread (`answered`).
   */
  crashed(error: unknown, when: 'starting' | 'running' | 'answered' = 'running'): void {
    const code = (error as { code?: unknown } | null)?.code;
    const name = (error as { name?: unknown } | null)?.name;
    const detail = error instanceof Error ? error.message : String(error);
    let failure: Error;
    const refused = name === 'DataCloneError' || code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST' || code === 'ERR_INVALID_TRANSFER_OBJECT';
    if (refused && when === 'answered') {
      // The answer, not the arguments: the worker's check let through something posting it refused.
      failure = new CloneError('result', `the worker could not post it (${detail}), after \`${this.name}\` had run to the end: what the call did stands`, { cause: error });
    } else if (code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST' || (name === 'DataCloneError' && /not listed in transferList/i.test(detail))) {
      // Node 20 gives this its own code; Node 22 and later, a DataCloneError saying so.
      failure = new CloneError('args', `a MessagePort (or another value that can only move) is not moved: mark it with transfer(), or list it in options.transfer (${detail})`, { cause: error });
    } else if (refused) {
      // The list the caller wrote, or else the arguments (with what transfer() marked in them).
      const where = (this.settings.transfer?.length ?? 0) > 0 ? 'options.transfer' : 'args';
      failure = new CloneError(where, `${where === 'args' ? 'an argument, or what transfer() marked among them,' : 'the transfer list'} was refused (${detail})`, { cause: error });
    } else {
      const exit = /exited with code: (-?\d+)/.exec(detail);
      const memory = code === 'ERR_WORKER_OUT_OF_MEMORY';
      const what = memory ? 'ran out of memory' : exit ? `exited with code ${exit[1]}` : `crashed (${detail})`;
      failure = new WorkerExitError(
        when === 'starting'
          ? `No worker thread could start to run \`${this.name}\`: one ${what} while starting. Check the pool's execArgv, env and resourceLimits; the next call starts a worker again.`
          : when === 'answered'
          ? `\`${this.name}\` ran to the end, but its worker thread ${what} before the answer reached this thread, of something a call left behind (a timer that threw, say): the answer is lost, and the call is not run again (it may have done its work). The pool replaces the worker.`
          : `The worker thread running \`${this.name}\` ${what} before the call settled. The pool replaces the worker.${memory ? " Raise the pool's resourceLimits, or process the data in smaller pieces." : ''}`,
        exit ? Number(exit[1]) : undefined,
        { cause: error },
      );
    }
    this.settle(false, this.locate(failure)); // made here: the caller's frames, no worker frames above them
  }

  /** Gives an error made on the main thread (timeout, pool closed) the call site's frames as its stack. */
  locate<E extends Error>(error: E): E {
    return locate(error, this.#site);
  }

  /** Appends the main-thread frames of the call site to the stack of an error thrown in the worker. */
  stitch(error: unknown): void {
    stitch(error, this.#site);
  }
}

/** Cancels `call` when one of `signals` aborts; returns how to stop watching each. */
function watchAll(signals: readonly AbortSignal[], call: Call): Array<() => void> {
  const cancel = (reason: unknown): void => call.cancel(reason);
  const unstarted = (reason: unknown): void => call.cancelUnstarted(reason);
  return signals.map((signal) => watchSignal(signal, cancel, unstarted));
}

/** How errors name the function a call runs. */
export function nameOf(fn: FnRef): string {
  if (fn.kind === 'known') return `function #${fn.id}`;
  return fn.kind === 'source' ? fn.name || 'anonymous function' : fn.path.join('.') || 'module.exports';
}

/** The error of a call of `fn` that its timeout of `limit` ms stopped (before it started, or while it ran). */
export function timeoutError(fn: FnRef, limit: number): TimeoutError {
  return new TimeoutError(`\`${nameOf(fn)}\``, limit);
}

/**
 * Rebuilds a thrown value from the wire, with the user's error classes loaded from modules the main
 * thread already has. Never rejects: a failure to rebuild is returned as what was thrown.
 */
export async function rebuildThrown(wire: WireThrown): Promise<unknown> {
  try {
    const ctors = new Map<CtorRef, Function | undefined>();
    await collectCtors(wire, ctors);
    return decodeThrown(wire, (ref) => ctors.get(ref));
  } catch (error) {
    return error;
  }
}

/** Loads, from modules the main thread already has, the user's error classes named by the worker. */
async function collectCtors(thrown: WireThrown, into: Map<CtorRef, Function | undefined>, seen = new Set<WireThrown>()): Promise<void> {
  if (thrown.kind !== 'error' || seen.has(thrown)) return; // an error met twice, or a cycle
  seen.add(thrown);
  const { ctor } = thrown.error;
  if (ctor?.kind === 'export') {
    const value = await loadedExport(ctor);
    into.set(ctor, typeof value === 'function' ? value : undefined);
  }
  for (const inner of innerThrown(thrown.error)) await collectCtors(inner, into, seen);
}
