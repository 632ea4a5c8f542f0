/**
 * Turns a function into what a worker needs to run it (`FnRef`), or explains, before anything is
 * dispatched, why it cannot run there and what to do instead. Answers are cached per function, so
 * the hot path is one WeakMap lookup.
 */
import { UnsupportedFunctionError } from '../errors.js';
import { typeError } from '../validate.js';
import type { FnRef } from '../protocol.js';
import { analyzeFunction } from './analyze.js';
import { locateFunction, type Location } from './locate.js';

const resolved = new WeakMap<Function, FnRef>();
const pending = new WeakMap<Function, Promise<FnRef>>();
const sourceIds = new Map<string, number>();
let nextId = 0;

function label(fn: Function): string {
  return fn.name ? `\`${fn.name}\`` : 'This anonymous function';
}

function list(names: readonly string[]): string {
  return names.map((n) => `\`${n}\``).join(', ');
}

function closureError(fn: Function, free: readonly string[], where: Location): UnsupportedFunctionError {
  const names = list(free);
  const site = where.url ? ` (defined in ${where.url})` : '';
  if (where.isEntry) {
    return new UnsupportedFunctionError(
      'entry-script',
      `${label(fn)}${site} uses ${names} from its surrounding scope, and it lives in the program's entry script, ` +
        `which a worker cannot import without running the whole program again. Move it into its own module and ` +
        `export it, or pass ${free.length > 1 ? `${names} as arguments` : `${names} as an argument`}: toThread((${free.join(', ')}) => …, ${free.join(', ')})`,
      free,
    );
  }
  return new UnsupportedFunctionError(
    'closure',
    `${label(fn)}${site} uses ${names} from its surrounding scope, which a worker thread does not have. ` +
      `Pass ${free.length > 1 ? 'them' : 'it'} as ${free.length > 1 ? 'arguments' : 'an argument'} ` +
      `(toThread((${free.join(', ')}) => …, ${free.join(', ')})), move ${free.length > 1 ? 'them' : 'it'} inside the function, ` +
      `or export the function from a module and pass the imported reference`,
    free,
  );
}

function opaqueError(fn: Function, kind: 'bound' | 'native' | 'class' | 'generator' | 'unparsable'): UnsupportedFunctionError {
  switch (kind) {
    case 'bound':
      return new UnsupportedFunctionError(
        'bound',
        `${label(fn)} is a bound function: its bound \`this\` and arguments cannot be sent to a worker. ` +
          `Pass the unbound function and its arguments: toThread(fn, ...args)`,
      );
    case 'native':
      return new UnsupportedFunctionError(
        'native',
        `${label(fn)} is a native function, which has no source to send to a worker. Wrap it in a function ` +
          `that calls it, e.g. toThread((x) => Math.sqrt(x), x)`,
      );
    case 'class':
      return new UnsupportedFunctionError(
        'class',
        `${label(fn)} is a class, which cannot be called without \`new\`. Offload a function that constructs ` +
          `and uses it, exported from a module`,
      );
    case 'generator':
      return new UnsupportedFunctionError(
        'generator',
        `${label(fn)} is a generator function: toThread() returns one value. Return an array instead, ` +
          `or stream its values with the streaming API`,
      );
    case 'unparsable':
      return new UnsupportedFunctionError(
        'closure',
        `${label(fn)} could not be rebuilt from its source. Export it from a module and pass the imported reference`,
      );
  }
}

async function locate(fn: Function, free: readonly string[]): Promise<FnRef> {
  const where = await locateFunction(fn);
  if (where.ref !== undefined && !where.isEntry) return { kind: 'module', id: ++nextId, ...where.ref };
  throw closureError(fn, free, where);
}

/**
 * Resolves `fn` to a `FnRef`. Returns synchronously when the answer is cached or the function is
 * self-contained; returns a promise when its module has to be located.
 *
 * @throws {TypeError} when `fn` is not a function.
 * @throws {UnsupportedFunctionError} when `fn` cannot run on a worker (the message says why and how to fix it).
 */
export function resolveFunction(fn: unknown): FnRef | Promise<FnRef> {
  if (typeof fn !== 'function') throw typeError('fn', 'a function', fn);
  const hit = resolved.get(fn) ?? pending.get(fn);
  if (hit !== undefined) return hit;
  const analysis = analyzeFunction(fn);
  if (analysis.kind === 'self-contained') {
    let id = sourceIds.get(analysis.expression);
    if (id === undefined) sourceIds.set(analysis.expression, (id = ++nextId));
    const ref: FnRef = { kind: 'source', id, source: analysis.expression, method: analysis.method, name: fn.name };
    resolved.set(fn, ref);
    return ref;
  }
  if (analysis.kind !== 'closure' && analysis.kind !== 'unparsable') throw opaqueError(fn, analysis.kind);
  const free = analysis.kind === 'closure' ? analysis.freeVariables : [];
  const lookup = locate(fn, free).then(
    (ref) => {
      resolved.set(fn, ref);
      pending.delete(fn);
      return ref;
    },
    (error: unknown) => {
      pending.delete(fn);
      if (analysis.kind === 'unparsable' && error instanceof UnsupportedFunctionError) throw opaqueError(fn, 'unparsable');
      throw error;
    },
  );
  pending.set(fn, lookup);
  return lookup;
}
