import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { defineConfig, type Options } from 'tsup';

/**
 * The ES entry: the CommonJS build, its exports named one by one (read from the build, in a fresh
 * process). `export * from './index.cjs'` would do the same, but Node then scans the whole bundle
 * for its export names at every start (import took ~40 ms instead of ~16 ms).
 */
function esEntry(): string {
  const names = execFileSync(process.execPath, ['-p', "Object.keys(require('./dist/index.cjs')).join(', ')"], { encoding: 'utf8' }).trim();
  return [
    "// The CommonJS build, re-exported: one copy of the library however it is loaded (see tsup.config.ts).",
    "import { createRequire } from 'node:module';",
    "const lib = createRequire(import.meta.url)('./index.cjs');",
    `export const { ${names} } = lib;`,
    '',
  ].join('\n');
}

/**
 * `import.meta.url` in a CommonJS build: the file's URL made by `pathToFileURL`. tsup's own shim
 * writes `new URL(\`file:${__filename}\`)`, which reads a `#` or `%` in the path as URL syntax:
 * the library failed to load its parts from a folder named `a#b`.
 */
const importMetaInCjs: Options['esbuildOptions'] = (options, { format }) => {
  if (format !== 'cjs') return;
  options.define = { ...options.define, 'import.meta.url': 'importMetaUrl' };
  // After the strict-mode directive, which must stay the file's first statement.
  options.banner = { js: `"use strict";\nvar importMetaUrl = require('node:url').pathToFileURL(__filename).href;` };
};

// The library, and the worker entries (their own files, so a worker loads only what it needs). The
// library ships as ESM and CommonJS. The file Piscina loads in each thread is CommonJS: a new thread
// then loads it without starting Node's ES module loader first, which delayed the first result
// (`import + first result` 0.93-0.94x Piscina's against 1.09-1.14x (startup probe, 8-10
// interleaved runs each)). It is required, not imported: on Node 22 and later, `require()` of an ES
// module that a terminated worker was still loading could abort the whole process (V8's "IsGraphAsync
// must be used on an instantiated module", seen once in CI on Node 22.23.3).
export default defineConfig([
  {
    entry: { index: 'src/index.ts', 'worker-api': 'src/worker-api/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    esbuildOptions: importMetaInCjs,
    // periscopic and its helpers are ESM-only, and comlink's main is a UMD file whose names an ES
    // import cannot see: bundle them, so both builds load on every Node 20.
    noExternal: ['periscopic', 'zimmerframe', 'is-reference', /^comlink/],
    // One copy of the library per process, however it is loaded: the ES entry re-exports the
    // CommonJS build (Node reads its export names), so an app whose ESM code imports it and whose
    // CommonJS code (a dependency) requires it shares one default pool, one cancel scope context
    // and one set of error classes (`instanceof` holds across both). Two builds would each have
    // their own: the dual package hazard. The ES types stay as built: the declarations are the same.
    async onSuccess() {
      await writeFile('dist/index.js', esEntry());
      await rm('dist/index.js.map', { force: true });
    },
  },
  {
    // Node's ES module resolver, loaded on first use (see src/module/import-resolve.ts): one
    // CommonJS file, so that both builds and the workers can require it without waiting.
    entry: { 'import-resolve': 'src/module/import-resolve.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    noExternal: ['import-meta-resolve'],
    target: 'node20',
  },
  {
    // What Piscina requires in each thread.
    entry: { worker: 'src/worker/entry.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    noExternal: [/^comlink/],
    sourcemap: true,
    esbuildOptions: importMetaInCjs,
    target: 'node20',
  },
  {
    entry: { 'instance-worker': 'src/worker/instance-entry.ts' },
    format: ['esm'],
    noExternal: [/^comlink/],
    sourcemap: true,
    target: 'node20',
  },
]);
