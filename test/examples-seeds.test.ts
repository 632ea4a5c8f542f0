import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers.js';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
const run = (name: string): ReturnType<typeof runNode> => runNode(['--import', 'tsx', `${examples}${name}.ts`], { cwd: examples, timeoutMs: 60_000 });
const number = (text: string, pattern: RegExp): number => {
  const match = pattern.exec(text);
  expect(match, `${pattern} in:\n${text}`).not.toBeNull();
  return Number(match![1]);
};

describe('the seeds scenarios, as runnable examples', () => {
  it('breakfast: sequential takes 5 units, gather of the offloaded pair takes 3', async () => {
    const { stdout, code, stderr } = await run('breakfast');
    expect(code, stderr).toBe(0);
    const sequential = number(stdout, /sequential: coffee \+ bagel in [\d.]+ s = ([\d.]+) units/);
    const gathered = number(stdout, /gather: +coffee \+ bagel in [\d.]+ s = ([\d.]+) units/);
    expect(sequential).toBeGreaterThanOrEqual(5);
    expect(gathered).toBeGreaterThanOrEqual(3);
    expect(gathered).toBeLessThan(4.2); // 3 ideal; far from the 5 of running them in turn
  });

  it('batch requests: 20 blocking requests overlap through gather', async () => {
    const { stdout, code, stderr } = await run('batch-requests');
    expect(code, stderr).toBe(0);
    expect(number(stdout, /sequential: +([\d.]+) s/)).toBeGreaterThanOrEqual(2); // 20 x 100 ms at least
    expect(number(stdout, /one per request\): +[\d.]+ s \(([\d.]+)x\)/)).toBeGreaterThanOrEqual(4);
  });

  it('rate limit: 50 requests never exceed 10 in flight, as the server sees it', async () => {
    const { stdout, code, stderr } = await run('rate-limit');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/all 50 answered 200/);
    expect(number(stdout, /answered 200 in ([\d.]+) s/)).toBeGreaterThanOrEqual(0.5); // 5 waves of 100 ms
    expect(number(stdout, /peak in flight: (\d+) seen by the caller/)).toBe(10);
    expect(number(stdout, /(\d+) seen by the server/)).toBeLessThanOrEqual(10);
  });

  it('deadlines: a failing step stops its runaway siblings, and a timeout scope stops a runaway parser', async () => {
    const { stdout, code, stderr } = await run('deadlines');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/TaskGroupError: The task group failed \(1 error\): Error: the export service rejected the batch/);
    expect(stdout).toMatch(/2 calls cancelled, 0 still running/);
    const timedOut = number(stdout, /rejected after ([\d.]+) s with TimeoutError/);
    expect(timedOut).toBeGreaterThanOrEqual(0.29);
    expect(timedOut).toBeLessThan(3);
    expect(stdout).toMatch(/the pool serves the next call: \["still","serving"\]/);
  });
});
