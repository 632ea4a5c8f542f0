/** Shared test helpers: child processes for exit-time checks, and event-loop tick sampling. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface NodeOptions {
  /** Killed with SIGKILL after this long. @default 30_000 */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** @default this folder (test/) */
  readonly cwd?: string;
}

/**
 * Starts a Node script whose output the caller reads as it likes; `ended` resolves with how it
 * ended and its wall time (killed with SIGKILL once `timeoutMs` have passed).
 */
export function startNode(
  args: readonly string[],
  options: NodeOptions = {},
): { child: ChildProcessWithoutNullStreams; ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> } {
  const started = performance.now();
  const cwd = options.cwd ?? fileURLToPath(new URL('.', import.meta.url));
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...options.env } });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve, reject) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, ms: performance.now() - started });
    });
  });
  return { child, ended };
}

/** Runs a Node script to its end; resolves with its output, exit code and wall time. */
export async function runNode(
  args: readonly string[],
  options: NodeOptions = {},
): Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const { child, ended } = startNode(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { ...(await ended), stdout, stderr };
}

/** Samples the main loop with a short interval; `stop()` returns the gaps between ticks in ms. */
export function sampleTicks(intervalMs: number): { stop(): number[] } {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return gaps;
    },
  };
}

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to throw');
}

/** The pool's live worker threads, through its internal fault-injection hook (not public API). */
export function workersOf(pool: object): readonly import('node:worker_threads').Worker[] {
  return (pool as { workers(): readonly import('node:worker_threads').Worker[] }).workers();
}

/** What a promise settles with: its value, or what it rejected with (for asserting on either). */
export const settle = (promise: PromiseLike<unknown>): Promise<unknown> => Promise.resolve(promise).then((v) => v, (e: unknown) => e);

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the first process warning of `code` (undefined if none came within `ms`). */
export function nextWarning(code: string, ms = 10_000): Promise<(Error & { code?: string }) | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), ms);
    const listener = (warning: Error & { code?: string }): void => {
      if (warning.code === code) done(warning);
    };
    const done = (warning: (Error & { code?: string }) | undefined): void => {
      clearTimeout(timer);
      process.off('warning', listener);
      resolve(warning);
    };
    process.on('warning', listener);
  });
}
