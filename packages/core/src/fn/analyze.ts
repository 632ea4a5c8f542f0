/**
 * What kind of function is this, and can a worker rebuild it from its source? A function can be
 * shipped by source when every name it uses is its own or a global: otherwise it closes over
 * something only this thread has.
 */
import { parse } from 'acorn';
import type { Node } from 'estree';
import { analyze } from 'periscopic';

/** A function that can be compiled from source in a worker. */
export interface SelfContained {
  readonly kind: 'self-contained';
  /** An expression that evaluates to the function (method shorthand is wrapped in an object literal). */
  readonly expression: string;
  readonly method: boolean;
}

/** A function that uses names from its surrounding scope. */
export interface Closure {
  readonly kind: 'closure';
  readonly freeVariables: readonly string[];
}

/** A function that can never be rebuilt from its source. */
export interface Opaque {
  readonly kind: 'bound' | 'native' | 'class' | 'generator' | 'unparsable';
}

export type Analysis = SelfContained | Closure | Opaque;

/**
 * Names a worker also has although they are not globals here: `arguments` is every non-arrow
 * function's own; `__name` (esbuild, under tsx) and `__vite_ssr_dynamic_import__` (vite, under
 * vitest) are what those tools rewrite plain code into, and the worker defines them.
 */
const IMPLICIT = new Set(['arguments', '__name', '__vite_ssr_dynamic_import__']);
const CACHE_LIMIT = 1024;
const bySource = new Map<string, Analysis>();

function tryParse(expression: string): Node | undefined {
  try {
    return parse(expression, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node;
  } catch {
    return undefined;
  }
}

function freeVariables(ast: Node): string[] {
  const names: string[] = [];
  for (const name of analyze(ast).globals.keys()) {
    if (!IMPLICIT.has(name) && !(name in globalThis)) names.push(name);
  }
  return names;
}

function analyzeSource(source: string): Analysis {
  if (/^class\b/.test(source)) return { kind: 'class' };
  // Function and arrow sources are expressions; method shorthand (`parse(s) {…}`) is not, but it is
  // an object literal member.
  let method = false;
  let expression = `(${source}\n)`;
  let ast = tryParse(expression);
  if (ast === undefined) {
    method = true;
    expression = `({${source}\n})`;
    ast = tryParse(expression);
  }
  if (ast === undefined) return { kind: 'unparsable' };
  const free = freeVariables(ast);
  return free.length > 0 ? { kind: 'closure', freeVariables: free } : { kind: 'self-contained', expression, method };
}

/**
 * Analyses `fn`. The result depends only on the source text, so it is cached by source: the same
 * arrow function created again in a loop is not parsed again.
 */
export function analyzeFunction(fn: Function): Analysis {
  const ctor = fn.constructor?.name;
  if (ctor === 'GeneratorFunction' || ctor === 'AsyncGeneratorFunction') return { kind: 'generator' };
  const source = Function.prototype.toString.call(fn);
  // V8 prints every native and bound function as `function name() { [native code] }`.
  if (source.endsWith('{ [native code] }')) return { kind: fn.name.startsWith('bound ') ? 'bound' : 'native' };
  let analysis = bySource.get(source);
  if (analysis === undefined) {
    analysis = analyzeSource(source);
    if (bySource.size >= CACHE_LIMIT) bySource.delete(bySource.keys().next().value as string);
    bySource.set(source, analysis);
  }
  return analysis;
}
