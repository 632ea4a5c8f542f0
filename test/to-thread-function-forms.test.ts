import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pbkdf2Sync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createInstance, createPool, limit, releaseInstance, threaded, toThread, UnsupportedFunctionError, wrapModule } from '@tothread/core';
import defaultExport, { busyWaitSync, hashSync, utils } from './fixtures/legacy-esm.mjs';
import legacyCjs from './fixtures/legacy-cjs.cjs';
import getterExports from './fixtures/getter-exports.cjs';
import getterNeighbour from './fixtures/getter-neighbour.cjs';
import { fixture, runNode } from './helpers.js';

const { joinSync, nested, threadIdSync } = legacyCjs as {
  joinSync: (...parts: string[]) => string;
  nested: { twice: (x: string) => string };
  threadIdSync: () => number;
};

const pool = createPool({ minThreads: 1, maxThreads: 1 });
afterAll(() => pool.close());

async function rejection(promise: Promise<unknown>): Promise<UnsupportedFunctionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsupportedFunctionError);
  return error as UnsupportedFunctionError;
}

describe('self-contained functions are shipped by source', () => {
  it('runs arrow, function, async and method-shorthand functions with their arguments', async () => {
    const object = {
      scale(value: number, by: number) {
        return value * by;
      },
      async later(value: string) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return `${value}!`;
      },
    };
    class Maths {
      static cube(value: number) {
        return value ** 3;
      }
    }
    expect(await pool.toThread((a: number, b: number) => a + b, 2, 3)).toBe(5);
    expect(await pool.toThread(function square(n: number) { return n * n; }, 7)).toBe(49);
    expect(await pool.toThread(async (s: string) => s.repeat(2), 'ab')).toBe('abab');
    expect(await pool.toThread(object.scale, 6, 7)).toBe(42);
    expect(await pool.toThread(object.later, 'done')).toBe('done!');
    expect(await pool.toThread(Maths.cube, 3)).toBe(27);
  });

  it('runs the function on another thread, with globals and dynamic imports available', async () => {
    const workerThread = await pool.toThread(async () => (await import('node:worker_threads')).threadId);
    expect(workerThread).not.toBe(0);
    expect(await pool.toThread((s: string) => JSON.parse(s).n + Math.max(1, 2), '{"n":40}')).toBe(42);
    // Node's less common globals too: a stream reader's class, a performance entry's.
    expect(await pool.toThread(() => [typeof ReadableStreamDefaultReader, typeof PerformanceMark, typeof WritableStreamDefaultWriter])).toEqual(['function', 'function', 'function']);
  });

  it('runs methods whatever their names (getUser, settle, class) and a class expression that names itself', async () => {
    const api = {
      getUser(id: number) {
        return { id };
      },
      settle(x: number) {
        return x * 2;
      },
      class(x: number) {
        return x + 1;
      },
    };
    expect(await pool.toThread(api.getUser, 7)).toEqual({ id: 7 });
    expect(await pool.toThread(api.settle, 4)).toBe(8);
    expect(await pool.toThread(api.class, 1)).toBe(2);
    expect(await pool.toThread((settings: { n: number }) => settings.n * 2, { n: 3 })).toBe(6);
    const depth = (levels: number) => {
      const Tree = class Node {
        child?: Node;
        grow(n: number): Node {
          if (n > 0) (this.child = new Node()).grow(n - 1);
          return this;
        }
      };
      let count = 0;
      for (let node: { child?: unknown } | undefined = new Tree().grow(levels); node; node = node.child as typeof node) count++;
      return count;
    };
    expect(await pool.toThread(depth, 3)).toBe(4);
  });

  it('compiles a function once per worker and reuses it for later calls', async () => {
    const count = function count(): number {
      const self = count as typeof count & { calls?: number };
      self.calls = (self.calls ?? 0) + 1;
      return self.calls;
    };
    // One worker: a recompiled function would start from 1 each time.
    const results = [await pool.toThread(count), await pool.toThread(count), await pool.toThread(count)];
    expect(results).toEqual([1, 2, 3]);
  });
});

describe('functions exported by a module run from that module in the worker', () => {
  it('runs an ES module export that uses its own imports and module state', async () => {
    expect(await pool.toThread(hashSync, 'abc')).toBe(hashSync('abc'));
    expect(await pool.toThread(busyWaitSync, 5)).toBe(5);
  });

  it('runs a default export and a function in an exported namespace object', async () => {
    expect(await pool.toThread(defaultExport, 1, 2)).toBe(defaultExport(1, 2));
    expect(await pool.toThread(utils.upper, 'abc')).toBe(utils.upper('abc'));
  });

  it('runs CommonJS exports, top-level and nested, on a worker thread', async () => {
    expect(await pool.toThread(joinSync, '/a', 'b', '../c')).toBe(joinSync('/a', 'b', '../c'));
    expect(await pool.toThread(nested.twice, 'x')).toBe('/xx');
    expect(await pool.toThread(threadIdSync)).not.toBe(threadIdSync());
  });

  it('runs a function that imports a path next to its own file from its module, and sloppy-mode CommonJS as sloppy code', async () => {
    const { versionOfSibling } = (await import('./fixtures/relative-import.mjs')) as { versionOfSibling: () => Promise<string> };
    expect(await pool.toThread(versionOfSibling)).toBe('1.4.0');
    // Out of TypeScript's sight (test/tsconfig.json): TypeScript refuses its octal escape.
    const sloppy = (await import(new URL('./fixtures/sloppy.cjs', import.meta.url).href)) as { red: (s: string) => string; receiverType: () => string; frozenWrite: () => number };
    expect(await pool.toThread(sloppy.red, 'x')).toBe(sloppy.red('x'));
    expect(await pool.toThread(sloppy.receiverType)).toBe('object'); // as sloppy mode has it, not strict mode's 'undefined'
    expect(await pool.toThread(sloppy.frozenWrite)).toBe(1); // strict mode would throw a TypeError
    const inline = async () => ((await import('./fixtures/legacy-esm.mjs')) as { VERSION: string }).VERSION;
    const [imported, ...others] = (await rejection(pool.toThread(inline))).freeVariables;
    expect(imported).toMatch(/^import\('.*fixtures\/legacy-esm\.mjs'\)$/); // vitest rewrites the path from its root
    expect(others).toEqual([]);
  });

  it("imports a package named in a self-contained function's import() as its own file would: the app's copy", async () => {
    const app = mkdtempSync(join(tmpdir(), 'tothread-app-'));
    try {
      // acorn is also one of tothread's own dependencies: the worker must not take that copy.
      for (const name of ['acorn', 'only-in-the-app']) {
        mkdirSync(join(app, 'node_modules', name), { recursive: true });
        writeFileSync(join(app, 'node_modules', name, 'package.json'), JSON.stringify({ name, type: 'module', exports: './index.js' }));
        writeFileSync(join(app, 'node_modules', name, 'index.js'), `export const where = "the app's ${name}";`);
      }
      // Run by Node itself: under vitest, vite would rewrite the import() calls first.
      const core = new URL('../packages/core/dist/index.js', import.meta.url).href;
      const source = `import { toThread } from '${core}';
console.log(JSON.stringify(await toThread(async () => [(await import('acorn')).where, (await import('only-in-the-app')).where])));
// One the app lacks fails as it would there, not with tothread's own copy of it (comlink is one).
console.log(await toThread(async () => typeof (await import('comlink')).wrap).catch((e) => e.code + ' ' + e.message));
`;
      writeFileSync(join(app, 'main.mjs'), source);
      // Without the NODE_PATH pnpm's vitest shim sets (.pnpm/node_modules), through which require,
      // as Node's own would from the app's file, finds comlink.
      const run = await runNode([join(app, 'main.mjs')], { env: { NODE_PATH: '' } });
      expect(run.stderr).toBe('');
      const [found, missing] = run.stdout.trim().split('\n');
      expect(JSON.parse(found!)).toEqual(["the app's acorn", "the app's only-in-the-app"]);
      expect(missing).toMatch(/^ERR_MODULE_NOT_FOUND Cannot find module `comlink` from file:.*main\.mjs: .* \(imported by a function offloaded from file:.*main\.mjs\)$/); // before: 'function'
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it("runs Node's own functions from their public built-in module, even one defined in an internal module (pbkdf2Sync)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tothread-builtin-'));
    try {
      const file = join(dir, 'note.txt');
      writeFileSync(file, 'from disk');
      expect(await pool.toThread(readFileSync, file, 'utf8')).toBe('from disk');
      expect(await pool.toThread(readFile, file, 'utf8')).toBe('from disk');
      expect(gunzipSync(await pool.toThread(gzipSync, 'zipped')).toString()).toBe('zipped');
      const key = await pool.toThread(pbkdf2Sync, 'secret', 'salt', 1_000, 16, 'sha256');
      expect(Buffer.from(key).equals(pbkdf2Sync('secret', 'salt', 1_000, 16, 'sha256'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('works through threaded(), the async twin made once and called many times', async () => {
    const hashAsync = threaded(hashSync);
    expect(hashAsync.name).toBe('hashSyncAsync');
    expect(await Promise.all(['a', 'b'].map((s) => hashAsync(s)))).toEqual([hashSync('a'), hashSync('b')]);
    expect(await pool.threaded(joinSync)('x', 'y')).toBe('x/y');
  });
});

describe('functions that cannot run on a worker fail before dispatch, naming the fix', () => {
  it('rejects a closure over a local variable, naming the variable', async () => {
    const fresh = createPool();
    const offset = 10;
    const error = await rejection(fresh.toThread((n: number) => n + offset, 1));
    expect(error.reason).toBe('closure');
    expect(error.freeVariables).toEqual(['offset']);
    expect(error.message).toMatch(/uses `offset` from its surrounding scope/);
    expect(error.message).toMatch(/as an argument/);
    // Refused before dispatch: no call reached the pool.
    expect(fresh.stats()).toMatchObject({ queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
    await fresh.close();
  });

  it('rejects a closure using require without suggesting to pass require, saying how to load modules inside the function', async () => {
    const require = createRequire(import.meta.url);
    const error = await rejection(toThread(() => (require('node:os') as typeof import('node:os')).arch()));
    expect(error.freeVariables).toEqual(['require']);
    expect(error.message).not.toMatch(/toThread\(\(require\)/); // before: "pass `require` as an argument", which runs back here as a callback
    expect(error.message).toContain("process.getBuiltinModule('node:fs')");
    expect(error.message).toMatch(/if your compiler turned an import\(\) into require\(\).*export the function from a module instead/);
  });

  it('names a compiler helper for what it is (an async function compiled for ES2016), instead of suggesting to pass it as an argument', async () => {
    // What TypeScript's --target es2016 makes of `async (x) => x`, its helper in the module.
    const __awaiter = (_this: unknown, _args: unknown, _P: unknown, body: () => Generator<unknown, number>): Promise<number> => Promise.resolve(body().next().value as number);
    const compiled = (x: number): Promise<number> => __awaiter(undefined, void 0, void 0, function* () { return x; });
    const error = await rejection(toThread(compiled, 1));
    expect(error.freeVariables).toEqual(['__awaiter']);
    expect(error.message).toMatch(/uses `__awaiter`, a helper its compiler \(TypeScript, Babel, esbuild\) put in its module/);
    expect(error.message).toMatch(/Export the function from a module and pass the imported reference, or compile for a newer target/);
    expect(error.message).not.toMatch(/toThread\(\(__awaiter\)/); // before: "pass `__awaiter` as an argument"
  });

  it('rejects a function its module defines but does not export, naming the module', async () => {
    const { makeAdder } = (await import('./fixtures/closures.mjs')) as { makeAdder: (n: number) => (x: number) => number };
    const error = await rejection(toThread(makeAdder(2), 1));
    expect(error.freeVariables).toEqual(['n']);
    expect(error.message).toContain('fixtures/closures.mjs');
  });

  it('runs an exported function whose source text is that of a closure refused before, from its own module', async () => {
    const { makeParse } = (await import('./fixtures/closures.mjs')) as { makeParse: () => (t: string) => string };
    const { parse } = (await import('./fixtures/same-text-export.mjs')) as { parse: (t: string) => string };
    expect((await rejection(toThread(makeParse(), 'x'))).message).toContain('fixtures/closures.mjs');
    expect(await toThread(parse, 'x')).toBe('exported:x'); // before: refused, blaming closures.mjs
  });

  it('runs a function using new.target by source, and one using import.meta from its module; refuses a non-exported one, naming import.meta', async () => {
    expect(await toThread(function (this: unknown) { return new.target === undefined; })).toBe(true); // before: refused, "uses `new`"
    const { whereAmI, makeWhereAmI } = (await import('./fixtures/import-meta.mjs')) as { whereAmI: () => string; makeWhereAmI: () => () => string };
    expect(await toThread(whereAmI)).toMatch(/fixtures\/import-meta\.mjs$/);
    const error = await rejection(toThread(makeWhereAmI()));
    expect(error.freeVariables).toEqual(['import.meta']);
    expect(error.message).toContain('uses `import.meta`'); // before: "could not be rebuilt from its source"
  });

  it('rejects bound, native, Proxy and class values, and accessors, saying why', async () => {
    expect((await rejection(toThread(hashSync.bind(null), 'x'))).reason).toBe('bound');
    expect((await rejection(toThread(((x: number) => x).bind(null), 1))).message).toMatch(/^This anonymous function is a bound function/); // bind() names it 'bound '
    expect((await rejection(toThread(Math.max, 1, 2))).reason).toBe('native');
    const proxy = await rejection(toThread(new Proxy(function inc(x: number) { return x + 1; }, {}), 1));
    expect(proxy.reason).toBe('native'); // it prints as native code
    // Before: "is a native function".
    expect(proxy.message).toBe('`inc` is a Proxy, which has no source to send to a worker (its traps live on this thread). Pass the function it wraps');
    expect((await rejection(toThread(class Parser {} as unknown as () => void))).reason).toBe('class');
    const getter = Object.getOwnPropertyDescriptor({ get size() { return 1; } }, 'size')!.get!;
    expect((await rejection(toThread(getter))).reason).toBe('accessor');
  });

  it('rejects something that is not a function with a TypeError in the standard form', async () => {
    const error = await toThread(42 as unknown as () => void).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: 'Expected `fn` to be a function, got `42` (number)' });
  });

  it('throws at wrap time from threaded() when the function can never run on a worker', () => {
    expect(() => threaded(Math.min)).toThrow(UnsupportedFunctionError);
  });

  it("refuses tothread's own async twins (threaded(), a facade and its members, an instance and its methods), saying to call them", async () => {
    const refusal = async (fn: unknown): Promise<UnsupportedFunctionError> => {
      const error = await pool.toThread(fn as () => unknown).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsupportedFunctionError);
      expect((error as UnsupportedFunctionError).reason).toBe('offloaded');
      return error as UnsupportedFunctionError;
    };
    expect((await refusal(threaded(hashSync))).message).toContain('`hashSyncAsync`, made by threaded(), already runs on a worker thread when called: call it, `await hashSyncAsync(...args)`');
    const zlib = wrapModule<typeof import('node:zlib')>('node:zlib');
    expect((await refusal(zlib.gzipSync)).message).toContain('`gzipSync` of the facade of node:zlib already runs on a worker thread when called: call it, `await facade.gzipSync(...args)`');
    expect((await refusal(zlib)).message).toContain('The facade of node:zlib is not a function to offload: call its exports');
    const inventory = await createInstance.with({ pool })('./fixtures/stateful.cjs', 'Inventory', 'shop');
    expect((await refusal(inventory)).message).toMatch(/^The `Inventory` instance of file:.*stateful\.cjs is not a function to offload: call its methods/);
    expect((await refusal((inventory as unknown as Record<string, unknown>).addSync)).message).toMatch(/^A method of the `Inventory` instance of .* already runs on its worker thread when called/);
    await releaseInstance(inventory);
    // And its own helpers, which work on this thread (before: advice about tothread's inner variables).
    expect((await refusal(toThread)).message).toMatch(/^toThread is how a call reaches a worker: call it on this thread/);
    expect((await refusal(pool.toThread.with({ timeout: 100 }))).reason).toBe('offloaded');
    expect((await refusal(limit(2, threaded(hashSync)))).message).toMatch(/^The function limit\(\) made of `hashSyncAsync` takes its permits on this thread: call it/);
  });

  it('names a facade member read in a string, instead of calling the worker for its toString', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): number => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const zlib = wrapModule<typeof import('node:zlib')>('node:zlib');
      expect(`${zlib.gzipSync}`).toBe('`gzipSync` of the facade of node:zlib');
      expect(String(zlib)).toBe('the facade of node:zlib');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses a closure that lives in the entry script instead of re-running the program', async () => {
    const run = await runNode([fixture('entry-closure.mjs')]);
    expect(run.code).toBe(0);
    const reported = JSON.parse(run.stdout) as { name: string; reason: string; message: string };
    expect(reported.name).toBe('UnsupportedFunctionError');
    expect(reported.reason).toBe('entry-script');
    expect(reported.message).toMatch(/`factor`/);
  });
});

describe('names that look global but are not', () => {
  it('runs a function whose module imports a value under a global name from that module', async () => {
    const { sha1, later } = (await import('./fixtures/shadowing.mjs')) as { sha1: (s: string) => string; later: (v: string) => Promise<string> };
    expect(await pool.toThread(sha1, 'abc')).toBe(sha1('abc')); // node:crypto, not WebCrypto
    expect(await pool.toThread(later, 'x')).toBe('x'); // node:timers/promises, not the global setTimeout
  });

  it('refuses a global the program added itself, which workers do not have', async () => {
    (globalThis as Record<string, unknown>).TOTHREAD_TEST_FACTOR = 2;
    try {
      // It exists here, as a bare global name, but not in a worker.
      const error = await rejection(pool.toThread((x: number) => x * TOTHREAD_TEST_FACTOR, 1));
      expect(error.freeVariables).toEqual(['TOTHREAD_TEST_FACTOR']);
    } finally {
      delete (globalThis as Record<string, unknown>).TOTHREAD_TEST_FACTOR;
    }
  });

  it("runs a function whose module rebinds a built-in's name (JSON) with the module's", async () => {
    const { render } = (await import('./fixtures/shadowing.mjs')) as { render: (v: unknown) => string };
    expect(await pool.toThread(render, { a: 1 })).toBe('custom:{"a":1}');
  });

  it('runs a method that uses `super` from its module, and refuses what needs the scope it was written in (super, direct eval)', async () => {
    const { Derived } = (await import('./fixtures/shadowing.mjs')) as { Derived: { describe: () => string } };
    expect(await pool.toThread(Derived.describe)).toBe('derived of base');
    const local = { describe() { return `local ${super.toString === Object.prototype.toString}`; } };
    expect((await rejection(pool.toThread(local.describe))).freeVariables).toEqual(['super']);
    expect((await rejection(pool.toThread((code: string) => eval(code), '1'))).freeVariables).toEqual(['eval']);
  });

  it("searches a module's classes for a function without running their static getters", async () => {
    const mod = (await import('./fixtures/shadowing.mjs')) as { readsOfRegistry: () => number; makeAdder: (n: number) => (x: number) => number };
    await rejection(pool.toThread(mod.makeAdder(1), 1)); // not exported: every export of its module is searched
    expect(mod.readsOfRegistry()).toBe(0);
  });

  it('ships by source what a class inside the function takes from itself, and an import() it computes', async () => {
    const fields = (n: number) => {
      class Base {
        base = 1;
      }
      class Counter extends Base {
        doubled = this.base * 2;
        static zero = 0;
        static {
          Counter.zero = super.constructor === Function.prototype.constructor ? 0 : 0;
        }
        total = () => this.doubled + n + Counter.zero;
      }
      return new Counter().total();
    };
    expect(await pool.toThread(fields, 3)).toBe(5);
    const kindOf = async (name: string) => typeof (await import(name)).join;
    expect(await pool.toThread(kindOf, 'node:path')).toBe('function');
  });

  it('refuses an arrow function that uses the `this` of its class', async () => {
    const { Counter } = (await import('./fixtures/shadowing.mjs')) as { Counter: new () => { next: () => number } };
    const error = await rejection(pool.toThread(new Counter().next));
    expect(error.freeVariables).toEqual(['this']);
  });

  it('refuses an arrow function that uses the `super` of its class, naming it', async () => {
    const { Greeter } = (await import('./fixtures/shadowing.mjs')) as { Greeter: new () => { hello: () => string } };
    const error = await rejection(pool.toThread(new Greeter().hello));
    expect(error.reason).toBe('closure');
    expect(error.freeVariables).toEqual(['super']);
    expect(error.message).toMatch(/uses `super`/);
  });
});

declare const TOTHREAD_TEST_FACTOR: number;

describe('workers that join later', () => {
  it('a worker started after a function was sent many times still gets it (sent in full on demand)', async () => {
    const growing = createPool({ minThreads: 1, maxThreads: 3, idleTimeout: 50 });
    const triple = (n: number): number => n * 3;
    for (let i = 0; i < 20; i++) expect(await growing.toThread(triple, i)).toBe(i * 3); // one worker, many sends
    // Three at once: new workers start, which have never seen `triple`.
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => growing.toThread(triple, i)));
    expect(burst).toEqual(Array.from({ length: 30 }, (_, i) => i * 3));
    expect(growing.stats().failed).toBe(0);
    await growing.close();
  });
});

describe('finding the module of a function', () => {
  it("runs no getter of another module's exports on the main thread, and finds a function exported through its own module", async () => {
    expect(getterExports.reads()).toBe(0);
    expect(await toThread(getterNeighbour.pair, 'a', 'b')).toBe('a|b');
    expect(getterExports.reads()).toBe(0);
    expect(await toThread(getterExports.shout, 'hey')).toBe('hey!');
  });
});
