/**
 * What kind of function is this, and can a worker rebuild it from its source? A function can be
 * shipped by source when every name it uses is its own or a standard global: otherwise it closes
 * over something only this thread has.
 */
import { isBuiltin } from 'node:module';
import type { Node } from 'estree';
import { analyze } from 'periscopic';
import { runInNewContext } from 'node:vm';
import { setBounded } from '../bounded.js';
import { childNodes, tryParse, type AnyNode } from './ast.js';

/** A function that can be compiled from source in a worker. */
export interface SelfContained {
  readonly kind: 'self-contained';
  /** An expression that evaluates to the function (method shorthand is wrapped in an object literal). */
  readonly expression: string;
  readonly method: boolean;
  /**
   * The globals it uses (`JSON`, `Map`, `crypto`, `fetch`…). A module may bind a different value to
   * the same name (`import crypto from 'node:crypto'`, `const Promise = require('bluebird')`), so
   * the caller checks the function's scopes for them once.
   */
  readonly globals: readonly string[];
  /**
   * Its `import('pkg')` calls of a package by name, where `expression` has them: the caller resolves
   * them from the function's own file (a worker compiling the source would resolve them from
   * tothread's, and find another copy of the package, or none).
   */
  readonly packageImports: readonly PackageImport[];
}

/** An `import('name')` in a function's source: the string literal's place in `expression`. */
export interface PackageImport {
  readonly start: number;
  readonly end: number;
  readonly specifier: string;
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
    'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'ReadableStreamBYOBRequest', 'ReadableByteStreamController',
    'ReadableStreamDefaultController', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
    'TransformStreamDefaultController', 'Performance', 'PerformanceEntry', 'PerformanceMark', 'PerformanceMeasure',
    'PerformanceObserverEntryList', 'PerformanceResourceTiming', 'Navigator', 'CloseEvent', 'URLPattern',
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


/** Where a node sits: inside a non-arrow function (its own `this`), inside a method nested in the source (its own `super`). */
interface Context {
  readonly inFunction: boolean;
  readonly inMethod: boolean;
}

/**
 * What the source takes from the place it was written, beyond names: `import.meta`; `this`, `arguments` and
 * `new.target` outside any non-arrow function (an arrow in a class field, say); `super` outside a
 * method written inside the source (the source's own method has its home object here, not in the
 * worker); a direct `eval`, which reads the surrounding scope. The worker cannot have them.
 */
function lexicalBindings(node: AnyNode, at: Context, found: Set<string>, root: AnyNode | undefined): void {
  switch (node.type) {
    case 'ThisExpression':
      if (!at.inFunction) found.add('this');
      return;
    case 'Super':
      if (!at.inMethod) found.add('super');
      return;
    case 'MetaProperty':
      // `import.meta` is its module's, wherever it is used; `new.target` an enclosing function's.
      if ((node.meta as AnyNode).name === 'import') found.add('import.meta');
      else if (!at.inFunction) found.add('new.target');
      return;
    case 'Identifier':
      if (!at.inFunction && node.name === 'arguments') found.add('arguments');
      return;
    case 'CallExpression': {
      const callee = node.callee as AnyNode;
      // `eval?.(…)` is an indirect eval: it reads globals only.
      if (callee.type === 'Identifier' && callee.name === 'eval' && node.optional !== true) found.add('eval');
      importedPath(importSource(node), found);
      break;
    }
    case 'ImportExpression':
      importedPath(importSource(node), found);
      break;
  }
  const opens = node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration';
  // A class field's value and a static block of a class written inside the source have the class's
  // own `this` and `super`, like its methods.
  const method =
    node !== root &&
    (node.type === 'MethodDefinition' || node.type === 'PropertyDefinition' || node.type === 'StaticBlock' || (node.type === 'Property' && (node.method === true || node.kind !== 'init')));
  const inner = opens || method ? { inFunction: at.inFunction || opens || (method && node.type !== 'MethodDefinition' && node.type !== 'Property'), inMethod: at.inMethod || method } : at;
  for (const child of childNodes(node)) lexicalBindings(child, inner, found, root);
}


/**
 * An `import()` of a path is relative to the file the function was written in, which a worker
 * rebuilding it from its source is not (nor is a computed one known): the worker must import that
 * file and find the function there. Package names and built-ins resolve the same from anywhere.
 */
function importedPath(source: AnyNode | undefined, found: Set<string>): void {
  // A literal, or the fixed start of a template (`node:${name}`); a specifier computed from scratch
  // is the caller's to get right, as before.
  const quasis = source?.type === 'TemplateLiteral' ? (source.quasis as Array<{ value: { cooked: string } }>) : undefined;
  const start = source?.type === 'Literal' ? source.value : quasis?.[0]?.value.cooked;
  if (typeof start === 'string' && /^(?:\.{1,2}\/|\/|file:)/.test(start)) found.add(`import('${start}${quasis && quasis.length > 1 ? '…' : ''}')`);
}

const STRICT = '"use strict";';

/** What a dynamic import at `node` imports: `import(source)`, or vite's (vitest's) rewrite of one. */
function importSource(node: AnyNode): AnyNode | undefined {
  if (node.type === 'ImportExpression') return node.source as AnyNode;
  const callee = node.type === 'CallExpression' ? (node.callee as AnyNode) : undefined;
  return callee?.type === 'Identifier' && callee.name === '__vite_ssr_dynamic_import__' ? (node.arguments as AnyNode[])[0] : undefined;
}

/** `import('pkg')` calls naming a package (not a path, URL or Node built-in), placed in `expression`. */
function packageImports(node: AnyNode, into: PackageImport[]): PackageImport[] {
  const source = importSource(node);
  const specifier = source?.type === 'Literal' ? source.value : undefined;
  if (typeof specifier === 'string' && !/^(?:\.{0,2}\/|[a-z][a-z\d+.-]*:)/i.test(specifier) && !isBuiltin(specifier)) {
    into.push({ start: (source!.start as number) - STRICT.length, end: (source!.end as number) - STRICT.length, specifier });
  }
  for (const child of childNodes(node)) packageImports(child, into);
  return into;
}

/** The expression a parsed `"use strict";(…)` wraps. */
function rootOf(ast: Node): AnyNode {
  return (ast as unknown as { body: Array<{ expression: AnyNode }> }).body.at(-1)!.expression;
}

/**
 * Names a class expression gives itself (`class Node { … new Node() }`): periscopic leaves them
 * free, though they are the class's own.
 */
function classNames(node: AnyNode, into: Set<string>): void {
  if (node.type === 'ClassExpression' && node.id) into.add((node.id as AnyNode).name as string);
  for (const child of childNodes(node)) classNames(child, into);
}

function analyzeSource(source: string): Analysis {
  // Function and arrow sources are expressions; method shorthand (`parse(s) {…}`), a getter or a
  // setter (`get size() {…}`) is not, but it is an object literal member.
  // Parsed as the worker compiles it, in strict mode: sloppy-mode code (an octal escape, a `with`,
  // a legacy CommonJS module's functions) does not parse, and is found in its module instead.
  let method = false;
  let expression = `(${source}\n)`;
  let ast = tryParse(`${STRICT}${expression}`);
  if (ast === undefined) {
    method = true;
    expression = `({${source}\n})`;
    ast = tryParse(`${STRICT}${expression}`);
  }
  if (ast === undefined) {
    // An arrow that uses the `super` of the method it was written in: found below, and named.
    method = false;
    expression = `(${source}\n)`;
    ast = tryParse(`${STRICT}${expression}`, true);
  }
  if (ast === undefined) return { kind: 'unparsable' };
  const root = rootOf(ast);
  if (root.type === 'ClassExpression') return { kind: 'class' };
  const member = method ? (root.properties as AnyNode[])[0] : undefined;
  if (member !== undefined && member.kind !== 'init') return { kind: 'accessor' };
  const own = new Set<string>();
  classNames(root, own);
  const free: string[] = [];
  const globals: string[] = [];
  for (const name of analyze(ast).globals.keys()) {
    // periscopic lists the `new` of `new.target` and the `import` of `import.meta`: keywords, not names (see lexicalBindings).
    if (name === 'arguments' || name === 'new' || name === 'import' || TOOL_HELPERS.has(name) || own.has(name)) continue;
    if (isLanguageGlobal(name) || HOST_GLOBALS.has(name)) globals.push(name);
    else free.push(name);
  }
  // The root of `({ m() {} })` and `(function () {})` is a function, so their `this` is their own;
  // an arrow's is not.
  const lexical = new Set<string>();
  lexicalBindings(root, { inFunction: method, inMethod: false }, lexical, member);
  free.push(...lexical);
  return free.length > 0 ? { kind: 'closure', freeVariables: free } : { kind: 'self-contained', expression, method, globals, packageImports: packageImports(root, []) };
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
    setBounded(bySource, source, analysis, CACHE_LIMIT);
  }
  return analysis;
}
