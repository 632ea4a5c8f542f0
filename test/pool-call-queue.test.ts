// The pool's FIFO on its own: calls a worker never started go back to its head in call order.
import { describe, expect, it } from 'vitest';
import type { Call } from '../packages/core/src/call.js';
import { CallQueue } from '../packages/core/src/call-queue.js';

/** Stand-ins for calls: the queue reads only their place in call order and whether they still wait. */
const calls = (...seqs: number[]): Call[] => seqs.map((seq) => ({ seq, state: 'queued' }) as unknown as Call);
const drain = (queue: CallQueue): number[] => {
  const order: number[] = [];
  while (queue.size > 0) order.push(queue.take().seq);
  return order;
};

describe('the call queue', () => {
  it('puts calls given back at the head, ahead of calls queued after them', () => {
    const queue = new CallQueue();
    for (const call of calls(20, 21)) queue.push(call);
    queue.unshift(calls(3, 4, 5));
    expect(drain(queue)).toEqual([3, 4, 5, 20, 21]);
  });

  it('merges two groups given back in one turn by call order, whichever came back first', () => {
    const queue = new CallQueue();
    for (const call of calls(20, 21)) queue.push(call);
    queue.unshift(calls(2, 3, 4)); // a crashed batch's unstarted calls
    queue.unshift(calls(11, 12)); // then an overdue batch's, made after calls 2-4
    queue.unshift(calls(0, 1)); // and older ones still
    expect(drain(queue)).toEqual([0, 1, 2, 3, 4, 11, 12, 20, 21]);
  });

  it('interleaves groups whose calls were made in turns', () => {
    const queue = new CallQueue();
    queue.unshift(calls(1, 3, 5));
    queue.unshift(calls(2, 4));
    expect(drain(queue)).toEqual([1, 2, 3, 4, 5]);
  });

  it('skips calls settled while they waited, given back or not', () => {
    const queue = new CallQueue();
    const back = calls(1, 2, 3);
    for (const call of calls(9)) queue.push(call);
    queue.unshift(back);
    back[1]!.state = 'settled';
    queue.dropped();
    expect(drain(queue)).toEqual([1, 3, 9]);
  });
});
