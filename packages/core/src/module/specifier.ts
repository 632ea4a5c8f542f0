/**
 * Resolving a module specifier the way the caller's own `import` would: relative to the calling
 * file, a `file:` URL, an absolute path, a bare package name (from the caller's node_modules), or
 * a Node built-in. The module itself is not loaded here: only found.
 */
import { statSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModuleNotFoundError } from '../errors.js';
import * as check from '../validate.js';

/** The file that called `skip` (a `file:` URL), from V8's structured call sites. */
export function callerUrl(skip: Function): string | undefined {
  const original = Error.prepareStackTrace;
  const holder: { stack?: unknown } = {};
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.captureStackTrace(holder, skip);
    for (const site of holder.stack as NodeJS.CallSite[]) {
      const file = site.getFileName();
      if (file && !file.startsWith('node:')) return file.startsWith('file:') ? file : isAbsolute(file) ? pathToFileURL(file).href : undefined;
    }
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}

// Under tsx, `./legacy.js` in TypeScript source may name legacy.ts.
const TS_TWINS: Readonly<Record<string, string>> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/** True for a file (a directory is not a module: workers import() it, and ES modules name the file). */
function isFile(url: URL): boolean {
  try {
    return statSync(url, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // a file on the way (ENOTDIR), a directory it may not read (EACCES): not a module either
  }
}

function existingFile(url: URL): URL | undefined {
  if (isFile(url)) return url;
  const match = /\.[mc]?js$/.exec(url.pathname);
  if (match) {
    const twin = new URL(url.href.slice(0, -match[0].length) + TS_TWINS[match[0]]!);
    if (isFile(twin)) return twin;
  }
  return undefined;
}

type ModuleResolve = (specifier: string, parent: URL, conditions: Set<string>, preserveSymlinks: boolean) => URL;
let resolver: { resolve: ModuleResolve; conditions: Set<string>; preserveSymlinks: boolean } | undefined;

/** Node's ES resolver, with what the process's flags (its own, and NODE_OPTIONS') change about it. */
function esmResolver(): NonNullable<typeof resolver> {
  if (resolver !== undefined) return resolver;
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const conditions = new Set(['node', 'import']);
  flags.forEach((flag, i) => {
    const named = /^(?:--conditions|-C)(?:=(.*))?$/.exec(flag);
    if (named) conditions.add(named[1] ?? flags[i + 1] ?? '');
  });
  conditions.delete('');
  // From dist/ (where every build of this file lives): the resolver, bundled on its own.
  const { moduleResolve } = createRequire(import.meta.url)('./import-resolve.cjs') as { moduleResolve: ModuleResolve };
  const preserveSymlinks = flags.includes('--preserve-symlinks') || process.env.NODE_PRESERVE_SYMLINKS === '1';
  return (resolver = { resolve: moduleResolve, conditions, preserveSymlinks });
}

/**
 * What an `import` of the package name `specifier` in the file at `from` would load (Node's ES
 * module resolution: an `exports` map's conditions, `node` and `import` and any `--conditions`, so
 * a dual package's ES build), or undefined when that finds no file (a directory, a subpath without
 * its extension). Throws what the resolver throws for a package that refuses it.
 */
export function importEntry(specifier: string, from: string): string | undefined {
  const { resolve, conditions, preserveSymlinks } = esmResolver();
  try {
    const url = resolve(specifier, new URL(from), conditions, preserveSymlinks);
    return url.protocol === 'file:' ? url.href : undefined;
  } catch (error) {
    if (typeof (error as { url?: unknown }).url === 'string') return undefined; // there, but not a file an import loads
    throw error;
  }
}

/**
 * The URL a worker imports for `specifier` as written in the file at `from`.
 *
 * @throws {TypeError} when `specifier` is not a non-empty string.
 * @throws {ModuleNotFoundError} when nothing is there.
 */
export function resolveSpecifier(specifier: unknown, from: string | undefined): string {
  if (typeof specifier !== 'string' || specifier === '') {
    throw check.typeError('specifier', 'a module specifier (a relative path, file: URL, package name or node: built-in)', specifier);
  }
  if (isBuiltin(specifier)) return specifier.startsWith('node:') ? specifier : `node:${specifier}`;
  const base = from ?? pathToFileURL(join(process.cwd(), 'index.js')).href;
  const where = from ?? `the current directory (${process.cwd()})`;
  if (specifier.startsWith('file:') || isAbsolute(specifier) || specifier.startsWith('./') || specifier.startsWith('../')) {
    const url = specifier.startsWith('file:') ? new URL(specifier) : isAbsolute(specifier) ? pathToFileURL(specifier) : new URL(specifier, base);
    const found = existingFile(url);
    if (found === undefined) throw new ModuleNotFoundError(specifier, where);
    return found.href;
  }
  let refused: unknown;
  try {
    const entry = importEntry(specifier, base);
    if (entry !== undefined) return entry;
  } catch (error) {
    refused = error;
  }
  // What only `require` finds (a subpath without its extension, say) is still found.
  try {
    return pathToFileURL(createRequire(base).resolve(specifier)).href;
  } catch (error) {
    throw new ModuleNotFoundError(specifier, where, { cause: refused ?? error });
  }
}
