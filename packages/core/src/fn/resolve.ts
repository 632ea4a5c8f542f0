/**
 * Turns a function into what a worker needs to run it (`FnRef`), or explains, before anything is
 * dispatched, why it cannot run there and what to do instead. Answers are cached per function (the
 * hot path is one WeakMap lookup); its parse, and which globals its scopes rebind, per source text
 * (an arrow created again in a loop is analysed once). Where a function lives is looked up per
 * function: another function of the same text may live elsewhere, exported or not.
 */
import { types } from 'node:util';
import { UnsupportedFunctionError } from '../errors.js';
import { typeError } from '../validate.js';
import type { FnRef } from '../protocol.js';
import { resolveSpecifier } from '../module/specifier.js';
import { analyzeFunction, type Analysis, type Opaque, type SelfContained } from './analyze.js';
import { boundInScopes, scriptUrlOf } from './inspect.js';
import { locateFunction, type Location } from './locate.js';
import { setBounded } from '../bounded.js';

const SOURCE_IDS_LIMIT = 4096;
const resolved = new WeakMap<Function, FnRef>();
/** tothread's own async twins (`threaded()`, a facade and its members), with why `toThread` refuses each: they offload when called, and are not offloaded again. */
const offloaded = new WeakMap<Function, string>();

/** Marks `fn` as one of tothread's async twins: passed to `toThread`, it is refused with `message` (what it is, what to do instead). */
export function markOffloaded<F extends Function>(fn: F, message: string): F {
  offloaded.set(fn, message);
  return fn;
}
const pending = new WeakMap<Function, Promise<FnRef>>();
/**
 * Per analysed source: globals a scope around the function rebinds (checked once: reading a
 * function's scopes costs ~0.2 ms, too much for an arrow made anew at every call). Another
 * function of the same text, in a module that binds those names otherwise, gets the same answer
 * (the README says so).
 */
const shadowed = new WeakMap<Analysis, readonly string[]>();
/** Functions found not to be importable, and where they were (refused again at once). */
const unreachable = new WeakMap<Function, Location>();
const sourceIds = new Map<string, number>();
let nextId = 0;

/** A fresh id for a function target: workers cache what they load by it. */
export function newTargetId(): number {
  return ++nextId;
}

function label(fn: Function): string {
  const name = /^(bound )+$/.test(fn.name) ? '' : fn.name; // what bind() names an anonymous function
  return name ? `\`${name}\`` : 'This anonymous function';
}

function list(names: readonly string[]): string {
  return names.map((n) => `\`${n}\``).join(', ');
}

/** What a function takes from where it was written but cannot be given as a parameter. */
const SCOPE_WORDS = new Set(['arguments', 'this', 'super', 'eval', 'new.target', 'import.meta']);

/** A CommonJS module's own bindings: passed as an argument, `require` would run back on this thread. */
const MODULE_WORDS = new Set(['require', 'module', 'exports', '__filename', '__dirname']);
/** The fix of loading a module inside the function, after `doing` (`get it`, `load what \`require\` loads`). */
function inside(doing: string): string {
  return `${doing} inside the function (a built-in module: process.getBuiltinModule('node:fs'); a package: await import('pkg'))`;
}

/**
 * The helpers compilers put in a module when they lower newer syntax (TypeScript's tslib names,
 * Babel's, esbuild's): a function using one was compiled for an older target or for CommonJS.
 */
const COMPILER_HELPER =
  /^(?:__(?:awaiter|generator|assign|rest|spread(?:Array)?|read|values|await|asyncGenerator|asyncValues|asyncDelegator|importStar|importDefault|createBinding|setModuleDefault|extends|decorate|param|metadata|classPrivateField(?:Get|Set|In)|async|publicField|private(?:Get|Set|Add|Method)|toESM|require|objRest|spreadValues|spreadProps|using|callDispose)|_(?:asyncToGenerator|regeneratorRuntime|interopRequire(?:Default|Wildcard)|objectSpread2?|defineProperty|classCallCheck|slicedToArray|toConsumableArray|objectWithoutProperties)|tslib(?:_\d+)?)$/;

function closureError(fn: Function, free: readonly string[], where: Location): UnsupportedFunctionError {
  const names = list(free);
  const site = where.url ? ` (defined in ${where.url})` : '';
  const helpers = free.filter((n) => COMPILER_HELPER.test(n));
  if (helpers.length > 0) {
    return new UnsupportedFunctionError(
      where.isEntry ? 'entry-script' : 'closure',
      `${label(fn)}${site} uses ${list(helpers)}, a helper its compiler (TypeScript, Babel, esbuild) put in its module when it turned newer syntax ` +
        `(an async function, import(), a spread) into older code: a worker rebuilding the function from its source does not have it. ` +
        `Export the function from a module${where.isEntry ? ' other than the entry script' : ''} and pass the imported reference, or compile for a newer target ` +
        `(ES2017 or later keeps async functions; module nodenext or esnext keeps import())`,
      free,
    );
  }
  const params = free.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && !SCOPE_WORDS.has(n) && !MODULE_WORDS.has(n));
  if (params.length === 0) {
    // `this`, `super`, a direct `eval`, `import.meta`, `require`: nothing that could be passed instead.
    // TypeScript compiling to CommonJS turns the import() the fix names into require(): then only exporting it works.
    const required = free.includes('require')
      ? `, and ${inside('load what `require` loads')} (if your compiler turned an import() into require(), as TypeScript does for module commonjs, export the function from a module instead)`
      : '';
    return new UnsupportedFunctionError(
      where.isEntry ? 'entry-script' : 'closure',
      `${label(fn)}${site} uses ${names}, which only the place it was written in has: a worker rebuilding it from its source cannot. ` +
        `Export a function that does the work from a module${where.isEntry ? ' other than the entry script' : ''} and pass the imported reference, or rewrite it without ${free.length > 1 ? 'them' : 'it'}${required}`,
      free,
    );
  }
  const asArgs = `: toThread((${params.join(', ')}) => …, ${params.join(', ')})`;
  const asData = `${params.length > 1 ? `${list(params)} as arguments` : `${list(params)} as an argument`}${asArgs} if ${params.length > 1 ? 'they are' : 'it is'} data (a function in an argument runs back on this thread, as a callback)`;
  const getInside = inside(free.length > 1 ? 'get them' : 'get it');
  if (where.isEntry) {
    return new UnsupportedFunctionError(
      'entry-script',
      `${label(fn)}${site} uses ${names} from its surrounding scope, and it lives in the program's entry script, ` +
        `which a worker cannot import without running the whole program again. Move it into its own module and ` +
        `export it, pass ${asData}, or ${getInside}`,
      free,
    );
  }
  return new UnsupportedFunctionError(
    'closure',
    `${label(fn)}${site} uses ${names} from its surrounding scope, which a worker thread does not have. ` +
      `Pass ${asData}, ${getInside}, or export the function from a module and pass the imported reference`,
    free,
  );
}

const OPAQUE: Record<Opaque['kind'], string> = {
  bound: 'is a bound function: its bound `this` and arguments cannot be sent to a worker. Pass the unbound function and its arguments: toThread(fn, ...args)',
  native: 'is a native function, which has no source to send to a worker. Wrap it in a function that calls it, e.g. toThread((x) => Math.sqrt(x), x)',
  class: 'is a class, which cannot be called without `new`. Offload a function that constructs and uses it, exported from a module',
  accessor: 'is a getter or setter. Offload a plain function that reads or writes the property',
  unparsable: 'could not be rebuilt from its source. Export it from a module and pass the imported reference',
};

/** A Proxy prints as native code too, though what it wraps may well have a source. */
const PROXY = 'is a Proxy, which has no source to send to a worker (its traps live on this thread). Pass the function it wraps';

function opaqueError(fn: Function, kind: Opaque['kind']): UnsupportedFunctionError {
  return new UnsupportedFunctionError(kind, `${label(fn)} ${kind === 'native' && types.isProxy(fn) ? PROXY : OPAQUE[kind]}`);
}

function sourceRef(fn: Function, expression: string, method: boolean): FnRef {
  // Only a sloppy-mode `function` has an own `caller`. It is compiled in sloppy mode too: its `this`,
  // its `arguments` and its writes to read-only places mean something else in strict mode.
  const sloppy = Object.hasOwn(fn, 'caller');
  const key = sloppy ? `sloppy:${expression}` : expression;
  let id = sourceIds.get(key);
  if (id === undefined) {
    setBounded(sourceIds, key, (id = ++nextId), SOURCE_IDS_LIMIT);
  }
  return { kind: 'source', id, source: expression, method, name: fn.name, ...(sloppy && { sloppy }) };
}

/** Sources whose `import('pkg')` calls were resolved from their function's file. */
const resolvedImports = new WeakMap<SelfContained, string>();

/**
 * The source to send, its `import('pkg')` calls pointed at what the function's own file imports
 * (its app's copy of the package, under its conditions): compiled in a worker, the source would
 * resolve them from tothread's own folder. A package not found from there is left as written.
 * Resolved once per source, like the rest of the analysis: finding a function's file costs
 * inspector calls (~0.2 ms), too much for an arrow made anew at every call.
 */
function packagesResolved(fn: Function, analysis: SelfContained): string {
  if (analysis.packageImports.length === 0) return analysis.expression;
  let expression = resolvedImports.get(analysis);
  if (expression === undefined) {
    const script = scriptUrlOf(fn);
    const from = script?.startsWith('file:') ? script : undefined;
    expression = analysis.expression;
    for (const { start, end, specifier } of [...analysis.packageImports].reverse()) {
      let replacement: string;
      try {
        replacement = JSON.stringify(resolveSpecifier(specifier, from));
      } catch (error) {
        // Not found from the function's file: the import fails as it would have there, when it
        // runs, rather than finding tothread's own copy of that package from its worker file.
        const message = `${(error as Error).message} (imported by a function offloaded from ${from ?? 'a script that is not a file'})`;
        replacement = `(() => { throw Object.assign(new Error(${JSON.stringify(message)}), { code: 'ERR_MODULE_NOT_FOUND' }); })()`;
      }
      expression = `${expression.slice(0, start)}${replacement}${expression.slice(end)}`;
    }
    resolvedImports.set(analysis, expression);
  }
  return expression;
}

async function locate(fn: Function, analysis: Analysis, free: readonly string[]): Promise<FnRef> {
  const where = unreachable.get(fn) ?? (await locateFunction(fn));
  if (where.ref !== undefined && !where.isEntry) return { kind: 'module', id: ++nextId, ...where.ref };
  unreachable.set(fn, where);
  if (analysis.kind !== 'closure' && analysis.kind !== 'self-contained') throw opaqueError(fn, 'unparsable');
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
  const twin = offloaded.get(fn);
  if (twin !== undefined) throw new UnsupportedFunctionError('offloaded', twin);
  const analysis = analyzeFunction(fn);
  let free: readonly string[] = [];
  if (analysis.kind === 'self-contained') {
    // `crypto` in `import crypto from 'node:crypto'` is not the worker's global `crypto`.
    let rebound = shadowed.get(analysis);
    if (rebound === undefined) {
      rebound = analysis.globals.length === 0 ? [] : (boundInScopes(fn, analysis.globals) ?? []);
      shadowed.set(analysis, rebound);
    }
    if (rebound.length === 0) {
      const ref = sourceRef(fn, packagesResolved(fn, analysis), analysis.method);
      resolved.set(fn, ref);
      return ref;
    }
    free = rebound;
  } else if (analysis.kind === 'closure') {
    free = analysis.freeVariables;
  } else if (analysis.kind !== 'unparsable') {
    throw opaqueError(fn, analysis.kind);
  }
  const lookup = locate(fn, analysis, free).then(
    (ref) => {
      resolved.set(fn, ref);
      pending.delete(fn);
      return ref;
    },
    (error: unknown) => {
      pending.delete(fn);
      throw error;
    },
  );
  pending.set(fn, lookup);
  return lookup;
}
