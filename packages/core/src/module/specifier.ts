/**
 * Resolving a module specifier the way the caller's own `import` would: relative to the calling
 * file, a `file:` URL, an absolute path, a bare package name (from the caller's node_modules), or
 * a Node built-in. The module itself is not loaded here: only found.
 */
import { existsSync } from 'node:fs';
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

function existingFile(url: URL): URL | undefined {
  if (existsSync(url)) return url;
  const match = /\.[mc]?js$/.exec(url.pathname);
  if (match) {
    const twin = new URL(url.href.slice(0, -match[0].length) + TS_TWINS[match[0]]!);
    if (existsSync(twin)) return twin;
  }
  return undefined;
}

let resolveEsm: ((specifier: string, parent: string) => string) | undefined;

/**
 * What an `import` of the package name `specifier` in the file at `from` would load (Node's ES
 * module resolution: an `exports` map's `import` and `node` conditions, a dual package's ES build),
 * or undefined when nothing is there. Throws what the resolver throws for a package that refuses it.
 */
export function importEntry(specifier: string, from: string): string | undefined {
  // From dist/ (where every build of this file lives): the resolver, bundled on its own.
  resolveEsm ??= (createRequire(import.meta.url)('./import-resolve.cjs') as { resolve: typeof resolveEsm }).resolve!;
  const url = resolveEsm(specifier, from); // like import.meta.resolve: a missing file's URL comes back
  return url.startsWith('file:') && existsSync(new URL(url)) ? url : undefined;
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
