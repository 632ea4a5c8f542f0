/**
 * The file Piscina loads in each worker thread: CommonJS, which imports the ES module worker.js.
 * Piscina `require()`s its worker file first. On Node 22 and later that loads an ES module
 * synchronously (require(esm)), and a worker terminated in the middle of it (a call cancelled or
 * timed out while its worker starts) can abort the whole process: V8's fatal error "IsGraphAsync
 * must be used on an instantiated module", seen once in CI on Node 22.23.3. `import()` does not
 * take that path. Once loaded, a call costs one check more.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

type RunTask = (request: unknown) => unknown;

let run: RunTask | undefined;
// A path esbuild leaves alone: worker.js stays its own file, not bundled into this one.
const loading = import(pathToFileURL(join(__dirname, 'worker.js')).href).then((module: { default: RunTask }) => (run = module.default));
loading.catch(() => {}); // not unhandled: the calls that wait for it get the error

/** Runs one task (see worker/entry.ts), once worker.js has loaded. */
export default function runTask(request: unknown): unknown {
  return run !== undefined ? run(request) : loading.then((loaded) => loaded(request));
}
