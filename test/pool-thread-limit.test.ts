// The adaptive limit of `maxThreads: 'auto'` on its own, driven by a fake CPU clock and fake timers:
// the decisions are checked sample by sample, free of this machine's load.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThreadLimit } from '../packages/core/src/thread-limit.js';

const CORES = 2;
const SAMPLE_MS = 20;

/**
 * A limit from 2 to 32 whose CPU clock the test moves: `run(ms, busy)` passes time with the process
 * using that share of the cores, `run(ms, busy, demand)` with its workers asking for `demand` of
 * them (running, or waiting for a core other processes hold).
 */
function adaptive() {
  let cpu = 0;
  let wall = 0;
  let demand = 0;
  let starting = false;
  let running = 0;
  const raises: number[] = [];
  const limit = new ThreadLimit(CORES, 32, {
    raised: () => raises.push(limit.value),
    starting: () => starting,
    running: () => running,
    read: () => ({ cpu, wall, demand }),
    cores: CORES,
  });
  const harness = {
    limit,
    raises,
    setStarting(value: boolean) {
      starting = value;
    },
    setRunning(value: number) {
      running = value;
    },
    /** Calls start waiting on idle CPUs until the limit has doubled `doublings` times: the clock, a first idle sample, then one per doubling. */
    raise(doublings: number) {
      limit.waiting(true);
      harness.run(SAMPLE_MS, 0);
      harness.run((doublings + 1) * SAMPLE_MS, 0.05);
    },
    /** Lets `ms` pass (whole samples) with the CPUs `busy` (0..1) all along, the workers asking for `asked`. */
    run(ms: number, busy: number, asked = busy) {
      for (let t = 0; t < ms; t += SAMPLE_MS) {
        wall += SAMPLE_MS;
        cpu += SAMPLE_MS * CORES * busy;
        demand += SAMPLE_MS * CORES * asked;
        vi.advanceTimersByTime(SAMPLE_MS);
      }
    },
  };
  return harness;
}

describe("the limit of maxThreads: 'auto'", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('doubles at each sample from the second idle one in a row while calls wait, up to its ceiling', () => {
    const { limit, raises, run } = adaptive();
    limit.waiting(true);
    run(6 * SAMPLE_MS, 0.05); // the clock, a first idle sample, then four doublings
    expect(raises).toEqual([4, 8, 16, 32]);
    expect(limit.value).toBe(32);
  });

  it('takes the first sample after calls start waiting as the start of its clock: workers just handed calls may not have woken yet', () => {
    const { limit, raises, run } = adaptive();
    limit.waiting(true);
    run(SAMPLE_MS, 0);
    expect(raises).toEqual([]);
    run(2 * SAMPLE_MS, 0);
    expect(raises).toEqual([4]);
  });

  it("takes workers waiting for a core as busy: other processes' load does not make computing workers look blocked", () => {
    const { limit, raises, run } = adaptive();
    limit.waiting(true);
    run(SAMPLE_MS, 0);
    run(10 * SAMPLE_MS, 0.3, 1); // the process gets 0.3 of the cores; its workers ask for all of them
    expect(raises).toEqual([]);
    run(3 * SAMPLE_MS, 0.05, 0.05); // blocked
    expect(raises).toEqual([4, 8]);
    run(300, 0.3, 0.95);
    expect(limit.value).toBe(4);
  });

  it('judges nothing while workers are starting: their start-up CPU says nothing about the calls', () => {
    const { limit, raises, run, setStarting, raise } = adaptive();
    raise(1);
    expect(limit.value).toBe(4);
    setStarting(true);
    run(1_000, 1);
    expect(limit.value).toBe(4);
    setStarting(false);
    run(SAMPLE_MS, 0); // the first sample after a start only starts the clock: the new worker is just getting its call
    expect(raises).toEqual([4]);
    run(SAMPLE_MS, 0.05); // the second idle sample judged in a row: the one before the start counts
    expect(raises).toEqual([4, 8]);
  });

  it('keeps its threads while the CPUs are busy for less than the stabilization window (first calls loading code)', () => {
    const { limit, run, raise } = adaptive();
    raise(2);
    expect(limit.value).toBe(8);
    run(180, 1); // new threads' first calls load their modules, then block again
    run(SAMPLE_MS, 0.6);
    expect(limit.value).toBe(8);
  });

  it('steps back toward the floor, one halving per window, while the CPUs stay busy (the calls compute)', () => {
    const { limit, run, raise } = adaptive();
    raise(3);
    expect(limit.value).toBe(16);
    run(200, 0.95);
    expect(limit.value).toBe(8);
    run(200, 0.95);
    expect(limit.value).toBe(4);
    run(1_000, 0.95);
    expect(limit.value).toBe(CORES);
  });

  it('neither grows nor shrinks in the middle band, and never grows when no call waits', () => {
    const { limit, raises, run, setRunning, raise } = adaptive();
    raise(1);
    run(1_000, 0.7);
    expect(limit.value).toBe(4);
    setRunning(4);
    limit.waiting(false);
    run(1_000, 0.05);
    expect(raises).toEqual([4]);
    expect(limit.value).toBe(4); // every thread it added still runs a call
    limit.reset();
    expect(limit.value).toBe(CORES);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not grow on one idle-looking sample among busy ones (a late timer, a call not yet handed over)', () => {
    const { limit, raises, run } = adaptive();
    limit.waiting(true);
    run(SAMPLE_MS, 0); // starts the clock
    for (let i = 0; i < 5; i++) {
      run(3 * SAMPLE_MS, 0.95);
      run(SAMPLE_MS, 0.45);
    }
    expect(raises).toEqual([]); // before: 4 at the first idle-looking sample
  });

  it('falls back, once no call waits, to the most calls that ran over the stabilization window, and stops sampling at its floor', () => {
    const { limit, run, setRunning, raise } = adaptive();
    raise(4);
    expect(limit.value).toBe(32); // a burst of blocked calls
    setRunning(5); // it is over: five still run
    limit.waiting(false);
    run(180, 0.05);
    expect(limit.value).toBe(32); // not yet: a short lull
    run(40, 0.05);
    expect(limit.value).toBe(5); // before: 32 until the pool went idle, so 30 CPU calls could all run at once on 2 cores
    setRunning(1);
    run(220, 0.05);
    expect(limit.value).toBe(CORES);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('steps back while the CPUs stay busy, also when no call waits', () => {
    const { limit, run, setRunning, raise } = adaptive();
    raise(3);
    expect(limit.value).toBe(16);
    setRunning(16); // the calls it let in compute now
    limit.waiting(false);
    run(200, 0.95);
    expect(limit.value).toBe(8);
  });

  it('a fixed limit never samples', () => {
    const read = vi.fn(() => ({ cpu: 0, wall: 0 }));
    const limit = new ThreadLimit(3, 3, { raised: () => {}, read });
    limit.waiting(true);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(read).not.toHaveBeenCalled();
    expect(limit.value).toBe(3);
  });
});
