import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import semver from 'semver';
import { createPool, ExportError, ModuleLoadError, ModuleNotFoundError, PoolClosedError, timeout, TimeoutError, wrapModule } from '@tothread/core';
import type * as batching from './fixtures/batching.mjs';
import * as esm from './fixtures/legacy-esm.mjs';
import cjs from './fixtures/legacy-cjs.cjs';
import type liveExports from './fixtures/live-exports.cjs';
import type stateful from './fixtures/stateful.cjs';
import type * as streams from './fixtures/streams.mjs';
import { fixture, runNode, settle, sleep, thrown } from './helpers.js';

const pool = createPool({ maxThreads: 2 });
afterAll(() => pool.close());
const legacyCjs = cjs as { joinSync: (...p: string[]) => string; nested: { twice: (x: string) => string } };

describe('wrapModule facades return what direct calls return', () => {
  it('wraps an ES module with imports of its own: functions, namespaces, the default export and values', async () => {
    const legacy = wrapModule<typeof esm>('./fixtures/legacy-esm.mjs', { pool });
    expect(await legacy.hashSync('abc')).toBe(esm.hashSync('abc'));
    expect(await legacy.utils.upper('x')).toBe(esm.utils.upper('x'));
    expect(await legacy.default(1, 2)).toBe(esm.default(1, 2));
    expect(await legacy.VERSION).toBe('1.4.0');
    expect(legacy.hashSync('x')).toBeInstanceOf(Promise);
  });

  it('wraps a CommonJS module with requires of its own, given as a file: URL', async () => {
    const legacy = wrapModule<typeof legacyCjs>(new URL('./fixtures/legacy-cjs.cjs', import.meta.url).href, { pool });
    expect(await legacy.joinSync('/a', '../b', 'c')).toBe(legacyCjs.joinSync('/a', '../b', 'c'));
    expect(await legacy.nested.twice('ab')).toBe(legacyCjs.nested.twice('ab'));
  });

  it('wraps a Node built-in: node:zlib gzipSync becomes async', async () => {
    const zlib = wrapModule<typeof import('node:zlib')>('node:zlib', { pool });
    const input = Buffer.from('the same bytes either way '.repeat(20));
    const packed = await zlib.gzipSync(input);
    expect(Buffer.from(packed).equals(gzipSync(input))).toBe(true);
  });

  it('wraps a bare npm package, resolved from the calling file', async () => {
    const wrapped = wrapModule<typeof semver>('semver', { pool });
    expect(await wrapped.satisfies('1.4.2', '^1.2.0')).toBe(semver.satisfies('1.4.2', '^1.2.0'));
    expect(await wrapped.valid('v2.0.0-rc.1')).toBe(semver.valid('v2.0.0-rc.1'));
  });

  it("wraps a dual package's ES build, as the calling file's own import would", async () => {
    const { importOwnPackage, wrapOwnPackage } = await import('./fixtures/dual-package/inside.mjs');
    const wrapped = wrapOwnPackage({ pool }) as { build: () => Promise<string> };
    expect(await wrapped.build()).toBe((await importOwnPackage()).build()); // 'esm', not the require build
    expect(await wrapped.build()).toBe('esm');
  });

  it('honours the conditions Node was started with, as import does', async () => {
    for (const flags of [['--conditions=tothread-test'], ['-C', 'tothread-test']]) {
      const run = await runNode([...flags, fixture('dual-package/print-builds.mjs')]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ wrapped: 'conditioned', imported: 'conditioned' });
    }
    const viaEnv = await runNode([fixture('dual-package/print-builds.mjs')], { env: { NODE_OPTIONS: '--conditions=tothread-test' } });
    expect(JSON.parse(viaEnv.stdout)).toEqual({ wrapped: 'conditioned', imported: 'conditioned' });
  });

  it('still finds what only require finds: a package directory, a subpath without its extension', async () => {
    const app = mkdtempSync(join(tmpdir(), 'tothread-legacy-pkg-'));
    try {
      const pkg = join(app, 'node_modules', 'old-layout');
      mkdirSync(join(pkg, 'dir'), { recursive: true });
      writeFileSync(join(pkg, 'package.json'), '{ "name": "old-layout" }'); // no exports, no main
      writeFileSync(join(pkg, 'dir', 'index.js'), "exports.where = () => 'dir/index.js';");
      writeFileSync(join(pkg, 'sub.js'), "exports.where = () => 'sub.js';");
      const core = import.meta.resolve('@tothread/core');
      writeFileSync(join(app, 'caller.mjs'), `import { wrapModule } from '${core}';\nexport const wrap = (specifier, options) => wrapModule(specifier, options);\n`);
      const { wrap } = (await import(pathToFileURL(join(app, 'caller.mjs')).href)) as { wrap: (s: string, o: object) => { where: () => Promise<string> } };
      expect(await wrap('old-layout/dir', { pool }).where()).toBe('dir/index.js');
      expect(await wrap('old-layout/sub', { pool }).where()).toBe('sub.js');
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('wraps a .ts module when the app runs under tsx', async () => {
    const run = await runNode(['--import', 'tsx', fixture('ts-consumer.ts')]);
    expect(run.code, run.stderr).toBe(0);
    const { viaFacade, viaToThread, direct } = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(viaFacade).toEqual(direct);
    expect(viaToThread).toEqual(direct);
  });

  it('loads a .ts module that cannot resolve tsx itself through the tsx the app was started with (Node 20 gives workers no loader hooks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tothread-tsx-'));
    try {
      writeFileSync(join(dir, 'legacy.mts'), 'const factor: number = 2;\nexport function twiceSync(n: number): number { return n * factor; }\n');
      const core = pathToFileURL(fixture('../node_modules/@tothread/core/dist/index.js')).href;
      writeFileSync(join(dir, 'app.mts'), [
        `import { toThread, wrapModule } from '${core}';`,
        "import { twiceSync } from './legacy.mts';",
        "const legacy = wrapModule<typeof import('./legacy.mts')>('./legacy.mts');",
        'console.log(JSON.stringify([await toThread(twiceSync, 21), await legacy.twiceSync(4)]));',
      ].join('\n'));
      const loader = join(createRequire(import.meta.url).resolve('tsx/package.json'), '../dist/loader.mjs');
      for (const flag of ['tsx', pathToFileURL(loader).href]) { // `node --import tsx`, and what tsx's own CLI passes
        const run = await runNode(['--import', flag, join(dir, 'app.mts')]);
        expect(run.stderr).toBe('');
        expect(JSON.parse(run.stdout)).toEqual([42, 8]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts a facade call once in its pool's stats: the look-up of an export's kind is not a call", async () => {
    await using own = createPool({ maxThreads: 1 });
    const legacy = wrapModule<typeof esm>('./fixtures/legacy-esm.mjs', { pool: own });
    expect(await legacy.busyWaitSync(1)).toBe(1);
    expect(own.stats()).toMatchObject({ completed: 1, failed: 0 });
    expect(await settle((legacy as unknown as { noSuchExport: () => Promise<unknown> }).noSuchExport())).toBeInstanceOf(ExportError);
    expect(own.stats()).toMatchObject({ completed: 1, failed: 1 }); // the call that failed
  });

  it('reads an export afresh at every call and read, as this thread would: a value that changed, a function the module swapped', async () => {
    await using one = createPool({ maxThreads: 1 }); // one worker: one copy of the module's state
    const live = wrapModule<typeof liveExports>('./fixtures/live-exports.cjs', { pool: one });
    expect(await live.count).toBe(0);
    expect(await live.parse('a')).toBe('lenient:a');
    expect([await live.increment(), await live.increment()]).toEqual([1, 2]);
    expect(await live.count).toBe(2);
    await live.configure('strict');
    expect(await live.parse('a')).toBe('strict:a');
  });

  it('applies the timeout option to every call and leaves out skipped exports', async () => {
    const legacy = wrapModule<typeof esm>('./fixtures/legacy-esm.mjs', { pool, timeout: 200, skip: ['readTextSync'] });
    expect(await settle(legacy.spinForever())).toBeInstanceOf(TimeoutError);
    expect(legacy.readTextSync).toBeUndefined();
    expect(await legacy.busyWaitSync(5)).toBe(5);
  });
});

describe('wrapModule bad input names the module, the export and the fix', () => {
  it('calls an export as a method, as this thread would: a namespace, a singleton, functions that call each other through this', async () => {
    await using single = createPool({ maxThreads: 1 }); // one worker: one copy of each module's state
    const legacy = wrapModule<typeof import('./fixtures/legacy-this.cjs')>('./fixtures/legacy-this.cjs', { pool: single });
    expect(await legacy.format.money(12.5)).toBe('€12.50');
    expect(await legacy.main(4)).toBe(8);
    const service = wrapModule<typeof import('./fixtures/legacy-singleton.cjs')>('./fixtures/legacy-singleton.cjs', { pool: single });
    expect(await service.label('x')).toBe('svc:x');
    // `exports.x =` CommonJS: `this` is module.exports itself, not the copy of its names the import took.
    const counter = wrapModule<{ inc: () => number; count: number }>('./fixtures/legacy-counter.cjs', { pool: single });
    expect([await counter.inc(), await counter.inc(), await counter.count]).toEqual([1, 2, 2]);
    const madeUp = wrapModule<{ sayHello: (x: string) => string }>('./fixtures/legacy-proxy.cjs', { pool: single });
    expect(await madeUp.sayHello('x')).toBe('Hello x');
  });

  it("finds the default export of CommonJS compiled from TypeScript, and names a class that is module.exports as 'default'", async () => {
    const compiled = wrapModule<typeof import('./fixtures/ts-compiled.cjs')>('./fixtures/ts-compiled.cjs', { pool });
    expect(await compiled.default('ada')).toBe('hi ada');
    expect(await compiled.other()).toBe('other');
    const passedOn = wrapModule<{ default: { other: () => string } }>('./fixtures/reexport-compiled.mjs', { pool });
    expect(await passedOn.default.other()).toBe('other'); // an ES module's default is what it exports, compiled or not
    const callable = wrapModule<typeof import('./fixtures/function-module.cjs')>('./fixtures/function-module.cjs', { pool });
    expect([await callable.default(2), await callable.helper('a')]).toEqual([6, 'a!']); // module.exports = fn: typed as it runs
    const plain = wrapModule<{ default: unknown }>('./fixtures/default-property.cjs', { pool });
    expect(await plain.default).toEqual({ default: { kind: 'a property' }, version: '1.0' }); // not compiled: module.exports, as import gives it
    const counter = wrapModule<{ Counter: () => number }>('./fixtures/class-export.cjs', { pool });
    const refused = (await settle(counter.Counter())) as ExportError;
    expect(refused).toBeInstanceOf(ExportError);
    expect(refused.message).toMatch(/`Counter` is the module's default export \(module\.exports\), named `default`/);
    const legacy = wrapModule<{ toString: () => string }>('./fixtures/legacy-this.cjs', { pool });
    expect(await settle(legacy.toString())).toMatchObject({ name: 'ExportError', message: expect.stringMatching(/has no export `toString` \(it has: format, main, helper\)/) });
  });

  it('refuses a JSON file and a call of the facade itself, saying what to do instead', async () => {
    expect(() => wrapModule('./fixtures/data.json')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/is JSON data, which has no functions to offload/) }));
    const whole = wrapModule<() => unknown>('./fixtures/legacy-cjs.cjs', { pool }) as unknown as () => Promise<unknown>;
    expect(await settle(whole())).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/is not a function: call its exports by name/) });
  });

  it('throws ModuleNotFoundError at once for a path or package that does not exist', () => {
    expect(() => wrapModule('./fixtures/no-such-file.mjs')).toThrow(ModuleNotFoundError);
    expect(() => wrapModule('./fixtures/no-such-file.mjs')).toThrow(/Cannot find module `\.\/fixtures\/no-such-file\.mjs` from .*modules-wrap\.test\.ts/);
    expect(() => wrapModule('no-such-package-at-all')).toThrow(ModuleNotFoundError);
    expect(() => wrapModule('./fixtures/dual-package')).toThrow(ModuleNotFoundError); // a directory: name the file
    expect(() => wrapModule('' as string)).toThrow(TypeError);
  });

  it('rejects a missing export with ExportError listing what the module has', async () => {
    const legacy = wrapModule<Record<string, (x: number) => number>>('./fixtures/legacy-esm.mjs', { pool });
    const error = (await settle(legacy.hashSnyc!(1))) as ExportError;
    expect(error).toBeInstanceOf(ExportError);
    expect(error.problem).toBe('missing');
    expect(error.exportPath).toBe('hashSnyc');
    expect(error.message).toMatch(/has no export `hashSnyc` \(it has: .*hashSync/);
  });

  it('rejects calling a value and reading a function, each saying what to do instead', async () => {
    const legacy = wrapModule<Record<string, unknown>>('./fixtures/legacy-esm.mjs', { pool }) as unknown as {
      VERSION: () => Promise<unknown>;
      hashSync: PromiseLike<unknown>;
    };
    const called = (await settle(legacy.VERSION())) as ExportError;
    expect(called.problem).toBe('not-a-function');
    expect(called.message).toMatch(/read it with `await facade\.VERSION`/);
    const read = (await settle(legacy.hashSync)) as ExportError;
    expect(read.problem).toBe('not-a-value');
    expect(read.message).toMatch(/is a function: call it/);
    const classes = wrapModule<Record<string, unknown>>('./fixtures/stateful.cjs', { pool }) as unknown as { Inventory: PromiseLike<unknown> };
    const readClass = (await settle(classes.Inventory)) as ExportError;
    expect(readClass.problem).toBe('not-a-value');
    // Before: "is a function: call it", which then failed saying it is a class.
    expect(readClass.message).toMatch(/^`Inventory` of file:.*stateful\.cjs is a class, which cannot be read across threads: keep an instance in a worker with createInstance\(specifier, 'Inventory', \.\.\.args\)$/);
  });

  it('says the same once the workers know the export by its short form, after many calls', async () => {
    const one = createPool({ maxThreads: 1 });
    try {
      const legacy = wrapModule<Record<string, unknown>>('./fixtures/legacy-esm.mjs', { pool: one }) as unknown as {
        VERSION: () => Promise<unknown>;
        hashSync: PromiseLike<unknown> & ((text: string) => Promise<string>);
      };
      for (let i = 0; i < 6; i++) await legacy.hashSync('x');
      for (let i = 0; i < 4; i++) {
        const read = (await settle(legacy.hashSync)) as ExportError;
        expect(read.problem).toBe('not-a-value');
        expect(read.message).toMatch(/^`hashSync` of file:.*legacy-esm\.mjs is a function: call it/);
        const called = (await settle(legacy.VERSION())) as ExportError;
        expect(called.message).toMatch(/^`VERSION` of file:.*legacy-esm\.mjs is not a function/);
      }
    } finally {
      await one.close();
    }
  });

  it('never loads the module on the main thread, even to rebuild an error of its class', async () => {
    const legacy = wrapModule<{ parseSync(text: string): number }>('./fixtures/worker-only-errors.mjs', { pool });
    const error = (await settle(legacy.parseSync('a!'))) as Error & { code: string };
    expect(error).toMatchObject({ name: 'ParseError', code: 'E_PARSE', message: 'unexpected "!" in a!' });
    expect((globalThis as { workerOnlyErrorsLoads?: number }).workerOnlyErrorsLoads).toBeUndefined();
  });

  it('rejects calling a class export, pointing to createInstance', async () => {
    const legacy = wrapModule<typeof stateful>('./fixtures/stateful.cjs', { pool }) as unknown as { Inventory: (owner: string) => Promise<unknown> };
    const error = (await settle(legacy.Inventory('shop'))) as ExportError;
    expect(error).toBeInstanceOf(ExportError);
    expect(error.problem).toBe('not-a-function');
    expect(error.message).toMatch(/`Inventory` of .*stateful\.cjs is a class.*createInstance\(specifier, 'Inventory', \.\.\.args\)/);
  });

  it('refuses new on a facade member, pointing to createInstance, and a subpath its package does not export, saying so', () => {
    const legacy = wrapModule<typeof stateful>('./fixtures/stateful.cjs', { pool }) as unknown as { Inventory: new (owner: string) => unknown };
    const error = thrown(() => new legacy.Inventory('shop'));
    expect(error).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(error.message).toMatch(/^Cannot call `Inventory` of the facade of .*stateful\.cjs with new: it lives in a worker thread\. A function export is called without new: await facade\.Inventory\(\.\.\.args\)\. .*await createInstance\('file:.*stateful\.cjs', 'Inventory', \.\.\.args\)$/);
    // Before: new built the proxy's stand-in, ran nothing, and said nothing.
    const unexported = thrown(() => wrapModule('vitest/LICENSE.md'));
    expect(unexported).toBeInstanceOf(ModuleNotFoundError);
    expect(unexported.message).toMatch(/`vitest\/LICENSE\.md` .*: its package is installed, but its package\.json `exports` do not offer that subpath/);
  });

  it('refuses to iterate a function export, saying to await it, and does not run it', async () => {
    const legacy = wrapModule<typeof batching>('./fixtures/batching.mjs', { pool });
    const counts = new Int32Array(new SharedArrayBuffer(4));
    const iterate = async (): Promise<void> => {
      for await (const _ of legacy.step(counts, 0) as unknown as AsyncIterable<unknown>);
    };
    const error = (await settle(iterate())) as ExportError;
    expect(error).toBeInstanceOf(ExportError); // before: a TypeError with no code
    expect(error).toMatchObject({ code: 'ERR_TOTHREAD_EXPORT', problem: 'not-a-generator', exportPath: 'step' });
    expect(error.message).toMatch(/^`step` of file:.*batching\.mjs is not a generator function: await it instead of iterating it$/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(Atomics.load(counts, 0)).toBe(0); // step() counts each run
  });

  it('refuses to change an export through the facade, naming it and the fix, and JSON leaves the facade out', async () => {
    const legacy = wrapModule<typeof liveExports>('./fixtures/live-exports.cjs', { pool }) as unknown as Record<string, unknown>;
    expect(() => (legacy.count = 5)).toThrow(/Cannot change `count` of the facade of file:.*live-exports\.cjs: it lives in a worker thread, and this thread only reads and calls it\. Call a function of the module that changes it/);
    expect(() => delete legacy.parse).toThrow(TypeError);
    expect(JSON.stringify({ job: 'report', legacy })).toBe('{"job":"report"}'); // no toJSON() asked of the worker
  });

  it('refuses a call on a closed pool or in a cancelled scope through its own promise alone: nothing rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): number => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const closing = createPool({ maxThreads: 1 });
      const legacy = wrapModule<typeof streams>('./fixtures/streams.mjs', { pool: closing });
      for await (const _ of legacy.countThenSum(2)); // its kind is known now: a generator
      const inScope = await settle(timeout(20, async () => {
        await sleep(50);
        return legacy.failAfter(1); // called once the scope is cancelled
      }));
      expect(inScope).toBeInstanceOf(TimeoutError);
      await closing.close();
      expect(await settle(legacy.rowsOf(1) as unknown as Promise<unknown>)).toBeInstanceOf(PoolClosedError);
      expect(await settle((async () => {
        for await (const _ of legacy.countThenSum(2));
      })())).toBeInstanceOf(PoolClosedError);
      await sleep(100);
      expect(unhandled).toEqual([]); // before: the pool's refusal, and the generator's "iterate it" TypeError
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('rejects with ModuleLoadError, carrying the cause, when the module throws at its top level', async () => {
    const broken = wrapModule<{ neverReached: () => void }>('./fixtures/top-level-throw.mjs', { pool });
    const error = (await settle(broken.neverReached())) as ModuleLoadError;
    expect(error).toBeInstanceOf(ModuleLoadError);
    expect(error.message).toMatch(/top-level-throw\.mjs failed to load in the worker thread \(Error: config file \/etc\/legacy\.conf is missing\)/);
    expect((error.cause as Error).message).toBe('config file /etc/legacy.conf is missing');
    expect(await pool.toThread(() => 'pool still serving')).toBe('pool still serving');
  });

  it('counts each call waiting for a module that fails to load as failed, and its export\'s look-up not at all', async () => {
    await using counted = createPool({ maxThreads: 1 });
    const broken = wrapModule<{ neverReached: () => void; other: () => void }>('./fixtures/top-level-throw.mjs', { pool: counted });
    const outcomes = await Promise.all([broken.neverReached(), broken.neverReached(), broken.other()].map(settle));
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(ModuleLoadError);
    expect(counted.stats()).toMatchObject({ completed: 0, failed: 3, cancelled: 0 }); // before: failed 2, one per look-up
  });
});
