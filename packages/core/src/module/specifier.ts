/**
 * Resolving a module specifier the way the caller's own `import` would: relative to the calling
 * file, a `file:` URL, an absolute path, a bare package name (from the caller's node_modules), or
 * a Node built-in. The module itself is not loaded here: only found.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/**
 * Where a package's `import` entry for `subpath` is (its `exports` map, `import` condition), found
 * from the file at `from`: for what `require.resolve` would resolve to a CommonJS build, or refuse.
 */
export function importEntry(name: string, subpath: string, from: string): string | undefined {
  for (let dir = dirname(fileURLToPath(from)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown };
      const exportsMap = pkg.exports as Record<string, unknown> | string | undefined;
      const entry = typeof exportsMap === 'object' && exportsMap !== null && subpath in exportsMap ? exportsMap[subpath] : subpath === '.' ? exportsMap : undefined;
      const target = typeof entry === 'string' ? entry : (entry as { import?: unknown } | undefined)?.import;
      const file = typeof target === 'string' ? target : (target as { default?: unknown } | undefined)?.default;
      return typeof file === 'string' ? join(dir, 'node_modules', name, file) : undefined;
    }
    if (dirname(dir) === dir) return undefined;
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
  try {
    return pathToFileURL(createRequire(base).resolve(specifier)).href;
  } catch (error) {
    const bare = /^(@[^/]+\/[^/]+|[^/]+)$/.exec(specifier)?.[1]; // subpaths of such packages are not guessed
    const entry = (error as { code?: unknown }).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' && bare ? importEntry(bare, '.', base) : undefined;
    if (entry !== undefined && existsSync(entry)) return pathToFileURL(entry).href;
    throw new ModuleNotFoundError(specifier, where, { cause: error });
  }
}
