import { describe, expect, it } from 'vitest';
import { CancelledError, cancelScope, CloneError, createInstance, createPool, ExportError, InstanceError, PoolClosedError, releaseInstance, timeout, TimeoutError, transfer, waitFor } from '@tothread/core';
import stateful from './fixtures/stateful.cjs';
import { settle, thrown } from './helpers.js';

type Fixture = typeof stateful & {
  Inventory: new (owner: string) => { owner: string; addSync(sku: string, n: number): number; countSync(): number; slowSync(ms: number): number; crashSync(): never; removeSync(sku: string): void; bytesSync(bytes: Uint8Array): number; headSync(size: number, length: number): Buffer; memorySync(bytes: ArrayBufferView): number; labelSync(bytes: Buffer): Buffer; toJSON(): { owner: string; items: number }; listenerSync(): () => string };
  SlowStart: new (ms: number) => { waitedSync(): number };
  openCounter: (start: number) => { next(): number };
  openNever: () => Promise<never>;
  openExiting: () => never;
  openReader: (bytes: Buffer) => { describe(): string };
};

describe('createInstance: stateful legacy code in one dedicated worker', () => {
  it('keeps an instance and its state across calls, served in order', async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    const counts = await Promise.all([inventory.addSync('a', 2), inventory.addSync('a', 3), inventory.addSync('b', 1)]);
    expect(counts).toEqual([2, 5, 1]);
    expect(await inventory.countSync()).toBe(6);
    expect(await inventory.owner).toBe('shop');
  });

  it("refuses to change an instance's property from this thread, naming it and the fix, and JSON leaves the instance out", async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    expect(() => ((inventory as unknown as { owner: string }).owner = 'elsewhere')).toThrow(/Cannot change `owner` of the `Inventory` instance of .*stateful\.cjs: it lives in a worker thread, and this thread only reads and calls it\. Call a method of the instance that changes it/);
    expect(await inventory.owner).toBe('shop');
    expect(JSON.stringify({ shop: 'corner', inventory })).toBe('{"shop":"corner"}'); // no toJSON() asked of the worker
    expect(await inventory.toJSON()).toEqual({ owner: 'shop', items: 0 }); // its class's own, called by hand
  });

  it('builds the instance with an init export when the module has no class', async () => {
    await using counter = await createInstance<Fixture['openCounter']>('./fixtures/stateful.cjs', 'openCounter', 41);
    expect(await counter.next()).toBe(42);
    expect(await counter.next()).toBe(43);
  });

  it('builds the instance with new from a constructor function written before classes', async () => {
    await using tally = await createInstance<new (start: number) => { total: number; addSync(n: number): number }>('./fixtures/legacy-constructor.cjs', 'Tally', 40);
    expect(await tally.addSync(2)).toBe(42);
    expect(await tally.total).toBe(42);
    await using feed = await createInstance<new (name: string) => { name: string; postSync(text: string): number }>('./fixtures/legacy-constructor.cjs', 'Feed', 'news');
    expect(await feed.postSync('hello')).toBe(1);
    expect(await feed.name).toBe('news');
  });

  it('builds with new a pre-class constructor that sets its methods on this, and calls an init function that does not', async () => {
    type Counter = { count: number; tickSync(): number };
    await using counter = await createInstance<new (step: number) => Counter>('./fixtures/legacy-constructor.cjs', 'Counter', 5);
    expect(await counter.tickSync()).toBe(5);
    expect(await counter.tickSync()).toBe(10);
    await using audit = await createInstance<new (start: number) => { addSync(n: number): number }>('./fixtures/legacy-constructor.cjs', 'Audit', 40);
    expect(await audit.addSync(2)).toBe(42); // set up by Tally.call(this) and Object.assign(this, …)
    await using opened = await createInstance<(step: number) => Counter>('./fixtures/legacy-constructor.cjs', 'openCounter', 3);
    expect(await opened.tickSync()).toBe(3);
    expect(await opened.count).toBe(3);
    type Store = { get(key: string): number; name(): string };
    await using store = await createInstance<(name: string) => Promise<Store>>('./fixtures/legacy-constructor.cjs', 'openStore', 'north');
    expect([await store.get('a'), await store.name()]).toEqual([1, 'north']); // an async init compiled down: called, awaited
    await using later = await createInstance<(n: number) => PromiseLike<{ get(): number }>>('./fixtures/legacy-constructor.cjs', 'openLater', 7);
    expect(await later.get()).toBe(7); // a thenable it returns is awaited too
  });

  it('rejects with the constructor error when the class refuses its arguments', async () => {
    const error = await settle(createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 42 as unknown as string));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('Inventory needs an owner name');
    const own = (await settle(createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'closed'))) as Error & { code: string };
    expect(own).toBeInstanceOf((stateful as { StockError: new () => Error }).StockError);
    expect(own).toMatchObject({ code: 'E_STOCK', sku: 'anything' });
  });

  it('rejects with an InstanceError saying why when the init function returns a promise that never settles, or ends its thread', async () => {
    const error = await settle(createInstance<Fixture['openNever']>('./fixtures/stateful.cjs', 'openNever'));
    expect(error).toBeInstanceOf(InstanceError);
    expect((error as Error).message).toMatch(/^The worker of the `openNever` instance of .* exited \(code 0\) before the instance was ready: .* returned a promise that never settles/);
    const exited = await settle(createInstance<Fixture['openExiting']>('./fixtures/stateful.cjs', 'openExiting'));
    expect(exited).toBeInstanceOf(InstanceError);
    expect((exited as Error).message).toMatch(/^The worker of the `openExiting` instance of .* exited \(code 7\) before the instance was ready: its module, as it loaded, or its constructor or init function ended the thread/);
  });

  it('refuses new on a method, saying to call it, and runs nothing', async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'new');
    const addSync = inventory.addSync as unknown as new (sku: string, n: number) => unknown;
    expect(thrown(() => new addSync('a', 5))).toMatchObject({ name: 'TypeError', message: expect.stringMatching(/^Cannot call a member of the `Inventory` instance of .* with new: .*Call its methods/) });
    expect(await inventory.countSync()).toBe(0); // before: new ran nothing and said nothing
  });

  it('rejects an export that builds nothing, and arguments that cannot be sent', async () => {
    const notBuildable = (await settle(createInstance('./fixtures/stateful.cjs', 'LIMIT'))) as ExportError;
    expect(notBuildable).toBeInstanceOf(ExportError);
    expect(notBuildable.problem).toBe('not-constructible');
    const uncloneable = await settle(createInstance('./fixtures/stateful.cjs', 'Inventory', new WeakMap()));
    expect(uncloneable).toBeInstanceOf(CloneError);
  });

  it("rejects with a method's own error whole: its class, code, own properties, cause and frames", async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    const error = (await settle(inventory.removeSync('lamp'))) as Error & { code?: string; sku?: string };
    expect(error).toBeInstanceOf((stateful as { StockError: new () => Error }).StockError);
    expect(error).toMatchObject({ name: 'StockError', message: 'cannot remove lamp', code: 'E_STOCK', sku: 'lamp' });
    expect(error.cause).toBeInstanceOf(RangeError);
    expect((error.cause as Error).message).toBe('no lamp in stock');
    expect(error.stack).toMatch(/at Inventory\.removeSync .*stateful\.cjs/);
    expect(await inventory.addSync('lamp', 1)).toBe(1); // still serving
  });

  it('rejects calling a method the instance lacks, or a property that is a value, with an ExportError saying which', async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    const remote = inventory as unknown as { shipSnyc(): Promise<unknown>; owner(): Promise<unknown> };
    const missing = (await settle(remote.shipSnyc())) as ExportError;
    expect(missing).toBeInstanceOf(ExportError);
    expect(missing.problem).toBe('missing');
    expect(missing.message).toMatch(/The `Inventory` instance from .*stateful\.cjs has no method `shipSnyc` \(it has: .*addSync, bytesSync, countSync/);
    const value = (await settle(remote.owner())) as ExportError;
    expect(value.problem).toBe('not-a-function');
    expect(value.message).toMatch(/read it with `await remote\.owner`/);
    const nested = remote as unknown as { owner: { toUpperCase(): Promise<string>; shout(): Promise<unknown> }; stock: { count(): Promise<unknown> } };
    expect(await nested.owner.toUpperCase()).toBe('SHOP'); // a method of a property is served
    const deeper = (await settle(nested.owner.shout())) as ExportError;
    expect(deeper).toMatchObject({ name: 'ExportError', problem: 'missing' });
    expect(deeper.message).toMatch(/has no method `owner\.shout`/);
    const absent = (await settle(nested.stock.count())) as ExportError;
    expect(absent).toMatchObject({ name: 'ExportError', problem: 'missing' });
    expect(absent.message).toMatch(/has no method `stock\.count`: `stock` is undefined/);
    expect(await inventory.addSync('a', 1)).toBe(1); // still serving
  });

  it("serves a Proxy's made-up methods, and a trap that throws fails that call alone", async () => {
    await using client = await createInstance<() => Record<string, () => string>>('./fixtures/stateful.cjs', 'openProxy');
    expect(await client.find!()).toBe('made up find');
    expect(await settle(client.broken!())).toMatchObject({ message: 'the trap refused' });
    expect(await client.save!()).toBe('made up save'); // the worker lives on
  });

  it('rejects a method argument that cannot be sent with CloneError naming it, and keeps serving', async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    const refused = (await settle(inventory.addSync('a', (() => 1) as unknown as number))) as CloneError;
    expect(refused).toBeInstanceOf(CloneError);
    expect(refused.message).toMatch(/^args\[1\] cannot be sent to a worker thread: it is a function.*: an instance's methods take no callbacks/);
    expect(await inventory.addSync('a', 2)).toBe(2);
  });

  it('keeps a Buffer a Buffer both ways through a method, moved when marked with transfer()', async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    const label = await inventory.labelSync(Buffer.from('crate'));
    expect(Buffer.isBuffer(label) && label.toString()).toBe('true:crate'); // before: a Uint8Array both ways
    const own = Buffer.from(new TextEncoder().encode('moved').buffer); // over its own memory, not Node's shared pool
    expect((await inventory.labelSync(transfer(own))).toString()).toBe('true:moved');
    expect(own.byteLength).toBe(0); // moved, not copied
    await using reader = await createInstance<Fixture['openReader']>('./fixtures/stateful.cjs', 'openReader', Buffer.from('built over'));
    expect(await reader.describe()).toBe('true:built over'); // a Buffer given to the init function too
  });

  it('sends a small view of a large buffer, to a method or back from it, as a copy of the bytes it covers, unless it is marked to move', async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    const head = await inventory.headSync(1 << 22, 16);
    expect(Buffer.isBuffer(head) && head.equals(Buffer.alloc(16, 1))).toBe(true);
    expect(head.buffer.byteLength).toBe(16); // before: the whole 4 MiB
    expect(await inventory.memorySync(new Uint16Array(1 << 20).subarray(0, 4))).toBe(8); // before: 2 MiB
    expect(await inventory.memorySync(Buffer.from('crate'))).toBe(5); // before: Node's 8 KiB pool slab
    const marked = new Uint8Array(1 << 10).subarray(0, 4);
    expect(await inventory.memorySync(transfer(marked))).toBe(1 << 10); // moved whole, uncopied
  });

  it('moves a buffer marked with transfer(), and rejects a result that cannot be sent back with CloneError naming it', async () => {
    await using inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'shop');
    const bytes = new Uint8Array(1024);
    expect(await inventory.bytesSync(transfer(bytes))).toBe(1024);
    expect(bytes.byteLength).toBe(0); // moved, not copied
    const twice = transfer(new Uint8Array(8));
    const bytesOf = inventory.bytesSync as unknown as (a: Uint8Array, b: { again: Uint8Array }) => Promise<number>;
    expect(await bytesOf(twice, { again: twice })).toBe(8); // one buffer marked in two arguments moves once
    expect(twice.byteLength).toBe(0);
    const refused = (await settle(inventory.listenerSync())) as CloneError;
    expect(refused).toBeInstanceOf(CloneError);
    expect(refused.path).toBe('result');
    expect(refused.message).toMatch(/^result cannot be sent back from the worker thread: it is a function/);
    expect(await inventory.addSync('a', 2)).toBe(2); // still serving
  });

  it('rejects every pending call with InstanceError when its worker crashes', async () => {
    const inventory = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'doomed');
    const slow = settle(inventory.slowSync(200));
    const crash = settle(inventory.crashSync());
    const after = settle(inventory.countSync());
    for (const outcome of await Promise.all([crash, after])) {
      expect(outcome).toBeInstanceOf(InstanceError);
      expect((outcome as Error).message).toMatch(/exited \(code 9\)\. Pending calls are rejected/);
    }
    expect(await slow).toBe(200); // it ran before the crash, in order
    expect(await settle(inventory.countSync())).toBeInstanceOf(InstanceError);
  });

  it('ends the worker on release, or when its pool closes, and refuses calls after', async () => {
    const released = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'a');
    await releaseInstance(released);
    expect(((await settle(released.countSync())) as Error).message).toMatch(/was released: create a new instance/);

    const pool = createPool({ maxThreads: 1 });
    const owned = await createInstance.with({ pool })<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'b');
    expect(await owned.addSync('x', 1)).toBe(1);
    await pool.close();
    expect(await settle(owned.countSync())).toBeInstanceOf(PoolClosedError);
  });

  it('lets a running call finish when its pool closes, stops it with PoolClosedError after close()\'s timeout, and says so when a release cuts one off', async () => {
    const pool = createPool({ maxThreads: 1 });
    const finishing = await createInstance.with({ pool })<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'c');
    const slow = finishing.slowSync(300);
    await pool.close();
    expect(await slow).toBe(300);

    const bounded = createPool({ maxThreads: 1 });
    const cut = await createInstance.with({ pool: bounded })<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'd');
    const long = settle(cut.slowSync(5_000));
    await bounded.close({ timeout: 100 });
    expect(await long).toMatchObject({ name: 'PoolClosedError', message: 'The pool was closed: close() stopped this call after waiting 100 ms for it' });

    const released = await createInstance<Fixture['Inventory']>('./fixtures/stateful.cjs', 'Inventory', 'e');
    const running = settle(released.slowSync(5_000));
    await releaseInstance(released);
    expect(((await running) as Error).message).toMatch(/was released while this call was running/);
  });

  it('lets a constructor still running when its pool closes finish, then refuses the instance; destroy() and close()\'s timeout stop it', async () => {
    const closing = createPool({ maxThreads: 1 });
    const built = settle(createInstance.with({ pool: closing })<Fixture['SlowStart']>('./fixtures/stateful.cjs', 'SlowStart', 300));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the worker is up and in the constructor
    await closing.close();
    expect(await built).toMatchObject({ name: 'PoolClosedError', message: expect.stringMatching(/^The pool was closed while the `SlowStart` instance of .* started: create it on an open pool$/) });

    const destroyed = createPool({ maxThreads: 1 });
    const stopped = settle(createInstance.with({ pool: destroyed })<Fixture['SlowStart']>('./fixtures/stateful.cjs', 'SlowStart', 60_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await destroyed.destroy(); // resolves once the worker has exited: it did not wait for the constructor
    expect(await stopped).toMatchObject({ name: 'PoolClosedError', message: 'The pool was destroyed while this call was running' });

    const bounded = createPool({ maxThreads: 1 });
    const cut = settle(createInstance.with({ pool: bounded })<Fixture['SlowStart']>('./fixtures/stateful.cjs', 'SlowStart', 60_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await bounded.close({ timeout: 100 });
    expect(await cut).toMatchObject({ name: 'PoolClosedError', message: 'The pool was closed: close() stopped this call after waiting 100 ms for it' });
  });

  it('stops an instance still starting when its cancel scope ends, or waitFor gives up on it: its worker ends, so close() does not wait for it', async () => {
    const pool = createPool({ maxThreads: 1 });
    const make = (): Promise<unknown> => createInstance.with({ pool })<Fixture['SlowStart']>('./fixtures/stateful.cjs', 'SlowStart', 60_000);
    expect(await settle(timeout(200, make))).toBeInstanceOf(TimeoutError);
    expect(await settle(waitFor(make(), 200))).toBeInstanceOf(TimeoutError);
    const scoped = settle(cancelScope(async (scope) => {
      setTimeout(() => scope.cancel(), 200);
      return make();
    }));
    expect(await scoped).toBeInstanceOf(CancelledError);
    // Before: each constructor ran on for its 60 s, with no remote to release it, and close() waited for them.
    expect(await Promise.race([pool.close(), new Promise((resolve) => setTimeout(resolve, 10_000, 'still closing'))])).toBeUndefined();
    const ready = await timeout(10_000, () => createInstance<Fixture['SlowStart']>('./fixtures/stateful.cjs', 'SlowStart', 10));
    expect(await ready.waitedSync()).toBe(10); // made in a scope, it outlives the scope once ready
    await releaseInstance(ready);
  });
});
