import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers.js';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
const run = (name: string, env?: NodeJS.ProcessEnv): ReturnType<typeof runNode> =>
  runNode(['--import', 'tsx', `${examples}${name}.ts`], { cwd: examples, timeoutMs: 60_000, ...(env && { env }) });

describe('the legacy-module examples', () => {
  it('wrap-legacy-module: a CommonJS module of sync functions, wrapped unchanged, keeps the loop free', async () => {
    const { stdout, code, stderr } = await run('wrap-legacy-module');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/report\.cjs version 3\.2\.1, wrapped without changing it/);
    expect(stdout).toMatch(/parsed 400 rows; total \$3364\.00; fingerprint [0-9a-f]{12}/);
    expect(Number(/worst lag (\d+) ms/.exec(stdout)![1])).toBeLessThan(250);
  });

  it('stateful-instance: the instance keeps its state across calls and reports errors with their class', async () => {
    const { stdout, code, stderr } = await run('stateful-instance');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/shipped: {2}widget -> 2 left/);
    expect(stdout).toMatch(/refused: {2}RangeError: only 4 of gadget in north/);
    expect(stdout).toMatch(/history kept in the worker: \+10 widget \+4 gadget -8 widget/);
  });

  it('progress-callback: progress arrives while the computation runs', async () => {
    const { stdout, code, stderr } = await run('progress-callback', { PRIMES_LIMIT: '2000000' });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/148933 primes below 2000000/);
    const times = [...stdout.matchAll(/progress +\d+% at (\d+) ms/g)].map((m) => Number(m[1]));
    expect(times).toHaveLength(10);
    const total = Number(/in (\d+) ms; 10 progress reports/.exec(stdout)![1]);
    expect(times[0]!).toBeLessThan(total); // the first report came before the end
  });

  it('stream-rows: the worker stays at most the buffer ahead of a slow consumer, and break closes the generator', async () => {
    const { stdout, code, stderr } = await run('stream-rows');
    expect(code, stderr).toBe(0);
    expect(Number(/was never more than (\d+) ahead/.exec(stdout)![1])).toBeLessThanOrEqual(17);
    expect(stdout).toMatch(/finally block had run in the worker: true/);
  });

  it('builtin-zlib: node:zlib through the facade gives the same bytes without blocking the loop', async () => {
    const { stdout, code, stderr } = await run('builtin-zlib');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/same bytes: true/);
    const [blocking, offloaded] = [...stdout.matchAll(/worst tick lag (\d+) ms/g)].map((m) => Number(m[1]));
    expect(blocking).toBeGreaterThan(offloaded! + 50);
    expect(offloaded).toBeLessThan(250);
  });
});
