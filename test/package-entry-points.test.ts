import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as esm from '@tothread/core';
import { runNode, settle } from './helpers.js';

/** The same package, as CommonJS code (a dependency, a `.cjs` file) gets it. */
const cjs = createRequire(import.meta.url)('@tothread/core') as typeof esm;

/** Keeps a thread busy for `ms`, then says it finished. */
const spinFor = (ms: number): string => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return 'finished';
};

describe('the package entry points', () => {
  it('are one copy of the library, so import and require share its classes and its default pool', () => {
    expect(cjs.toThread).toBe(esm.toThread);
    expect(cjs.TimeoutError).toBe(esm.TimeoutError);
    expect(cjs.defaultPool()).toBe(esm.defaultPool());
  });

  it('let a cancel scope opened through import stop a call made through require, and catch its error by class', async () => {
    let call!: Promise<string>;
    const ended = await settle(esm.timeout(100, () => (call = cjs.toThread(spinFor, 3_000))));
    expect(ended).toBeInstanceOf(esm.TimeoutError);
    const stopped = await settle(call);
    expect(stopped).not.toBe('finished'); // before: it ran its 3 s to the end, the scope unseen
    expect(stopped).toBeInstanceOf(esm.ToThreadError);
    await esm.defaultPool().close();
  });

  it('load and run from a folder whose path holds URL syntax (`#`, `%20`)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tothread-'));
    try {
      const app = join(root, 'app #1 %20');
      // A copy of the package, its dependencies with it, as an install puts it.
      const core = fileURLToPath(new URL('../packages/core', import.meta.url));
      cpSync(core, join(app, 'node_modules/@tothread/core'), { recursive: true, dereference: true, filter: (from) => from !== join(core, 'src') });
      writeFileSync(join(app, 'main.mjs'), "import { toThread } from '@tothread/core';\nconsole.log(await toThread((x) => x * 2, 21));\nprocess.exit(0);\n");
      const { stdout, stderr } = await runNode(['main.mjs'], { cwd: app });
      expect(stderr).toBe('');
      expect(stdout.trim()).toBe('42'); // before: "Cannot find module 'piscina'" (its URL read `#1` as a fragment)
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
