/** Parsing function sources with acorn, and walking what it gives, for the analyses that need it. */
import { createRequire } from 'node:module';
import type { Node } from 'estree';

/** A node of any type, its fields read loosely. */
export type AnyNode = { type: string; [key: string]: unknown };

// acorn is loaded at the first parse, not at import.
let acorn: typeof import('acorn') | undefined;

/**
 * Parses `code` as a script (strict only if it says so), or undefined if it does not parse.
 * `superOutsideMethod`: an arrow written in a method may use its `super` (to name it, not to run it).
 */
export function tryParse(code: string, superOutsideMethod = false): Node | undefined {
  acorn ??= createRequire(import.meta.url)('acorn') as typeof import('acorn');
  try {
    // `import.meta` parses (a script refuses it) so that it can be named: see analyze.ts.
    return acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', allowSuperOutsideMethod: superOutsideMethod, allowImportExportEverywhere: true }) as unknown as Node;
  } catch {
    return undefined;
  }
}

/** The nodes directly under `node`, in source order. */
export function childNodes(node: AnyNode): AnyNode[] {
  const children: AnyNode[] = [];
  for (const value of Object.values(node)) {
    for (const child of Array.isArray(value) ? value : [value]) {
      if (child !== null && typeof child === 'object' && typeof (child as AnyNode).type === 'string') children.push(child as AnyNode);
    }
  }
  return children;
}

/**
 * Whether the `function` whose source is `source` uses its own `this` (not that of a function or
 * class inside it): a constructor written before classes that keeps its fields and methods on
 * `this` (`this.total = start`, `var self = this`, `Base.call(this)`), with nothing on its
 * prototype. False when the source is not a `function`.
 */
export function usesOwnThis(source: string): boolean {
  const ast = tryParse(`(${source}\n)`) as unknown as { body: Array<{ expression: AnyNode }> } | undefined;
  const root = ast?.body[0]?.expression;
  if (root?.type !== 'FunctionExpression') return false;
  const visit = (node: AnyNode): boolean => {
    if (node.type === 'ThisExpression') return true;
    if (node !== root && (node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration' || node.type === 'ClassBody')) return false;
    return childNodes(node).some(visit);
  };
  return visit(root);
}
