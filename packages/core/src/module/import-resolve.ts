/**
 * The entry of dist/import-resolve.cjs: Node's own ES module resolution (import-meta-resolve, which
 * follows Node's resolver, `exports` conditions included), bundled into one CommonJS file that
 * specifier.ts requires the first time it resolves a package name, so importing @tothread/core
 * does not pay for it. A devDependency: what is published carries the bundle.
 */
export { moduleResolve } from 'import-meta-resolve';
