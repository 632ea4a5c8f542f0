/**
 * What kind of function is this, and can a worker rebuild it from its source? A function can be
 * shipped by source when every name it uses is its own or a standard global: otherwise it closes
 * over something only this thread has.
 */
import { createRequire } from 'node:module';
import type { Node } from 'estree';
import { analyze } from 'periscopic';
import { runInNewContext } from 'node:vm';

/** A function that can be compiled from source in a worker. */
export interface SelfContained {
  readonly kind: 'self-contained';
  /** An expression that evaluates to the function (method shorthand is wrapped in an object literal). */
  readonly expression: string;
  readonly method: boolean;
  /**
   * Host globals it uses (`crypto`, `fetch`, `setTimeout`…). A module may import a different value
   * under the same name (`import crypto from 'node:crypto'`), so the caller checks the function's
   * scopes for them once.
   */
  readonly hostGlobals: readonly string[];
}

/** A function that uses names from its surrounding scope. */
export interface Closure {
  readonly kind: 'closure';
  readonly freeVariables: readonly string[];
}

/** A function that can never be rebuilt from its source. */
export interface Opaque {
  readonly kind: 'bound' | 'native' | 'class' | 'accessor' | 'unparsable';
}

export type Analysis = SelfContained | Closure | Opaque;

/** ECMAScript's own globals: what a fresh context has (made at the first analysis). */
let languageGlobals: ReadonlySet<string> | undefined;
function isLanguageGlobal(name: string): boolean {
  languageGlobals ??= new Set(runInNewContext('Object.getOwnPropertyNames(globalThis)') as string[]);
  return languageGlobals.has(name);
}

/**
 * Node's globals, which a worker has too. Globals a program adds itself (`globalThis.config = …`)
 * are not here: a worker does not have them.
 */
const HOST_GLOBALS = new Set(
  [
    'process', 'Buffer', 'global', 'console', 'performance', 'navigator', 'crypto', 'fetch',
    'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
    'queueMicrotask', 'structuredClone', 'atob', 'btoa', 'Request', 'Response', 'Headers', 'FormData',
    'AbortController', 'AbortSignal', 'EventTarget', 'Event', 'CustomEvent', 'TextEncoder', 'TextDecoder',
    'TextEncoderStream', 'TextDecoderStream', 'URL', 'URLSearchParams', 'Crypto', 'CryptoKey', 'SubtleCrypto',
    'Blob', 'File', 'BroadcastChannel', 'MessageChannel', 'MessagePort', 'MessageEvent', 'DOMException',
    'ReadableStream', 'WritableStream', 'TransformStream', 'CompressionStream', 'DecompressionStream',
    'ByteLengthQueuingStrategy', 'CountQueuingStrategy', 'WebSocket', 'PerformanceObserver',
  ].filter((name) => name in globalThis),
);

/**
 * Names the tools that run TypeScript rewrite plain code into: esbuild (tsx) keeps function names
 * with `__name`, vite (vitest) turns `import()` into `__vite_ssr_dynamic_import__()`. The worker
 * defines both.
 */
const TOOL_HELPERS = new Set(['__name', '__vite_ssr_dynamic_import__']);

const CACHE_LIMIT = 1024;
const bySource = new Map<string, Analysis>();

// acorn is loaded at the first analysis, not at import.
let acorn: typeof import('acorn') | undefined;

function tryParse(expression: string): Node | undefined {
  acorn ??= createRequire(import.meta.url)('acorn') as typeof import('acorn');
  try {
    return acorn.parse(expression, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node;
  } catch {
    return undefined;
  }
}

type AnyNode = { type: string; [key: string]: unknown };

/**
 * `this`, `arguments`, `super` and `new.target` outside any non-arrow function belong to the
 * surrounding scope (an arrow function in a class field, say): the worker cannot have them.
 */
function lexicalBindings(node: AnyNode, inFunction: boolean, found: Set<string>): void {
  switch (node.type) {
    case 'ThisExpression':
      if (!inFunction) found.add('this');
      return;
    case 'Super':
      if (!inFunction) found.add('super');
      return;
    case 'MetaProperty':
      if (!inFunction) found.add('new.target');
      return;
    case 'Identifier':
      if (!inFunction && node.name === 'arguments') found.add('arguments');
      return;
  }
  const opens = node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration';
  for (const key of Object.keys(node)) {
    const value = node[key];
    for (const child of Array.isArray(value) ? value : [value]) {
      if (child !== null && typeof child === 'object' && typeof (child as AnyNode).type === 'string') {
        lexicalBindings(child as AnyNode, inFunction || opens, found);
      }
    }
  }
}

function analyzeSource(source: string): Analysis {
  if (/^class\b/.test(source)) return { kind: 'class' };
  if (/^(?:get|set)\s*[[\w$'"]/.test(source) && !/^(?:get|set)\s*\(/.test(source)) return { kind: 'accessor' };
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
  const free: string[] = [];
  const hostGlobals: string[] = [];
  for (const name of analyze(ast).globals.keys()) {
    if (name === 'arguments' || TOOL_HELPERS.has(name) || isLanguageGlobal(name)) continue;
    if (HOST_GLOBALS.has(name)) hostGlobals.push(name);
    else free.push(name);
  }
  // The root of `({ m() {} })` and `(function () {})` is a function, so their `this` is their own;
  // an arrow's is not.
  const lexical = new Set<string>();
  lexicalBindings(ast as unknown as AnyNode, method, lexical);
  free.push(...lexical);
  return free.length > 0 ? { kind: 'closure', freeVariables: free } : { kind: 'self-contained', expression, method, hostGlobals };
}

/**
 * Analyses `fn`. The result depends only on the source text, so it is cached by source: the same
 * arrow function created again in a loop is not parsed again.
 */
export function analyzeFunction(fn: Function): Analysis {
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
