/**
 * How a pool ends, and what becomes of its calls when its workers go. close() waits for the running
 * calls, destroy() does not; both refuse the calls still queued or waiting for room, then end the
 * workers once, those the pool lends to others (createInstance) included. Calls are stranded too
 * when the pool's last worker failed while starting: they fail, and the next call starts afresh.
 */
import type { Piscina } from 'piscina';
import type { Batcher } from './batcher.js';
import type { Call } from './call.js';
import type { CallQueue } from './call-queue.js';
import { PoolClosedError } from './errors.js';
import type { PoolState } from './pool.js';
import type { RoomQueue } from './room.js';
import type { ThreadLimit } from './thread-limit.js';
import type { ThreadTimes } from './thread-times.js';
import * as check from './validate.js';

/** A worker a pool lends to others (createInstance), as the pool sees it. */
export interface Adopted {
  /** Resolves once none of its calls is running. */
  drained(): Promise<void>;
  /** Ends it: calls still running fail with a PoolClosedError saying `message`. */
  stop(message: string): Promise<void>;
}

/** What the ending of a pool needs from the pool. */
export interface EndingHost {
  /** Calls handed to a worker: running, or next in a batch sent to one. */
  readonly running: ReadonlySet<Call>;
  /** Calls waiting for a worker. */
  readonly queue: CallQueue;
  /** Calls waiting for room in a full queue. */
  readonly room: RoomQueue;
  /** The batches in flight, whose answers may be waiting to be read. */
  readonly batcher: Batcher;
  /** How many calls may run at once: told that none waits any more. */
  readonly limit: ThreadLimit;
  /** What the workers ask of the CPUs (`maxThreads: 'auto'`): forgotten once they have exited. */
  readonly times: ThreadTimes | undefined;
  /** Where the pool is in its life. */
  state(): PoolState;
  /** Moves the pool on in its life. */
  setState(state: PoolState): void;
  /** Resolves once none of the pool's own calls is running (batches' answers included); undefined when none is. */
  drained(): Promise<void> | undefined;
  /** The workers the pool runs now, if it runs any. */
  workers(): Piscina | undefined;
  /** Lets the workers go: a later call, if the pool is open, starts them afresh. */
  dropWorkers(): void;
}

/** The ending of one pool: close(), destroy(), and the calls its workers leave behind. */
export class PoolEnding {
  readonly #host: EndingHost;
  /** The workers this pool lends to others (createInstance): close() waits for their calls, then stops them. */
  readonly #adopted = new Set<Adopted>();
  #closing: Promise<void> | undefined;
  /** What a call made before close() or destroy(), but not queued by then, is refused with (as the queued ones are). */
  #closedBefore: string | undefined;
  /** The one ending of the workers, however many close()/destroy() calls ask for it. */
  #terminating: Promise<void> | undefined;

  constructor(host: EndingHost) {
    this.#host = host;
  }

  /** What a call made before close() or destroy(), but not queued by then, is refused with. */
  get closedBefore(): string | undefined {
    return this.#closedBefore;
  }

  /** Ties a lent worker's life to the pool's (see Pool#adopt). Returns how to untie it. */
  adopt(adopted: Adopted): () => void {
    this.#adopted.add(adopted);
    return () => this.#adopted.delete(adopted);
  }

  /**
   * A worker failed outside any call. With no worker left, it failed while starting (a preload in
   * execArgv that throws, a heap too small to boot): Piscina then starts none in its place, and the
   * calls it holds would wait for ever. They fail with what stopped it, and the next call starts
   * the workers afresh. True when calls got the error.
   */
  stranded(piscina: Piscina, error: unknown): boolean {
    if (piscina !== this.#host.workers() || piscina.threads.length > 0) return false;
    // A call of a batch that has run has its answer in shared memory, or on the way (it travels
    // apart from the task): only the calls whose task no worker took are stranded.
    this.#host.batcher.harvestAll();
    const stranded = [...this.#host.running].filter((call) => (call.batch === undefined ? !call.answered : !call.batch.answered(call.slot)));
    if (stranded.length === 0) return false;
    this.#host.dropWorkers();
    for (const call of stranded) call.crashed(error, 'starting');
    void piscina.destroy();
    return true;
  }

  #rejectQueued(message: string): void {
    this.#closedBefore ??= message;
    this.#host.room.refuseAll(() => new PoolClosedError(message));
    for (const call of this.#host.queue.clear()) call.settle(false, call.locate(new PoolClosedError(message)));
  }

  /** Stops taking calls, and ends the workers once the running calls have settled, or `timeout` ms have passed (see Pool#close). */
  close(options?: { timeout?: number }): Promise<void> {
    let timeout: number;
    try {
      const raw = check.optionsObject('options', options);
      check.knownKeys('options', raw, ['timeout']);
      timeout = check.optionalDuration('options.timeout', raw.timeout, true) ?? Infinity;
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing) return this.#closing;
    this.#host.setState('closing');
    this.#rejectQueued('The pool was closed before this call started: await the calls you need before close(), or create a new pool');
    this.#closing = (async () => {
      // Answers of a batch travel apart from its task's end: they are waited for too, and so are
      // the calls of the workers this pool lends (createInstance).
      const running = [...this.#adopted].map((adopted) => adopted.drained());
      const own = this.#host.drained();
      if (own !== undefined) running.push(own);
      if (running.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<void>((resolve) => {
          if (Number.isFinite(timeout)) timer = setTimeout(resolve, timeout);
        });
        await Promise.race([Promise.all(running), expired]);
        clearTimeout(timer);
      }
      await this.#terminate(`The pool was closed: close() stopped this call after waiting ${timeout} ms for it`);
    })();
    return this.#closing;
  }

  /** Stops at once: every queued and running call is refused, and the workers are ended (see Pool#destroy). */
  destroy(): Promise<void> {
    if (this.#host.state() === 'closed') return this.#closing ?? Promise.resolve();
    this.#host.setState('closing');
    this.#rejectQueued('The pool was destroyed before this call started');
    const done = this.#terminate('The pool was destroyed while this call was running');
    this.#closing ??= done;
    return done;
  }

  /** Ends the workers, once: a second destroy(), or one during close(), waits for the same exit. */
  #terminate(message: string): Promise<void> {
    return (this.#terminating ??= this.#end(message));
  }

  async #end(message: string): Promise<void> {
    const host = this.#host;
    host.limit.waiting(false);
    // A call whose answer has arrived keeps it (settle() ignores anything else then), answers in
    // shared memory included: those are read first.
    host.batcher.harvestAll();
    for (const call of [...host.running]) {
      // A call next in a batch that its worker had not started never will: it never ran.
      const started = call.batch === undefined || !call.batch.skip(call.slot);
      call.settle(false, call.locate(new PoolClosedError(message, { started })));
    }
    host.batcher.releaseHeld(true); // answered calls held behind batches that will not deliver now
    // Calls taken back from a stopped batch while the pool was closing never reached a worker again.
    this.#rejectQueued(message);
    const piscina = host.workers();
    host.dropWorkers();
    const adopted = [...this.#adopted].map((lent) => lent.stop(message));
    this.#adopted.clear();
    try {
      await Promise.all([piscina?.destroy(), ...adopted]);
    } finally {
      host.times?.clear();
      host.setState('closed');
    }
  }
}
