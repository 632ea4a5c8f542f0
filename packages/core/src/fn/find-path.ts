/** Identity search through a module's exports, shared by both threads. */

const MAX_DEPTH = 2;

/** Reads `container[key]`; a getter that throws reads as `undefined`. */
export function read(container: unknown, key: string): unknown {
  try {
    return (container as Record<string, unknown>)[key];
  } catch {
    return undefined; // a throwing getter is not where the function is
  }
}

/** What every function has: never where an export is. */
const FUNCTION_OWN = new Set(['prototype', 'length', 'name', 'caller', 'arguments']);

/**
 * The keys searched: an object's enumerable ones; a class's or function's own data properties too
 * (static methods are not enumerable; a static getter is not run).
 */
function ownKeys(container: object): string[] {
  if (typeof container !== 'function') return Object.keys(container);
  return Object.getOwnPropertyNames(container).filter((key) => !FUNCTION_OWN.has(key) && 'value' in Object.getOwnPropertyDescriptor(container, key)!);
}

/** `container[key]` if it is a data property: a getter is not run (undefined, as one that throws). */
function dataValue(container: object, key: string): unknown {
  try {
    const descriptor = Object.getOwnPropertyDescriptor(container, key);
    return descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined;
  } catch {
    return undefined; // a binding not yet initialized, a Proxy trap that throws
  }
}

/**
 * Breadth-first identity search through exports: `fn`, `default.fn`, `utils.parse`… With
 * `getters: false`, only data properties are read: a module that is not the function's own may
 * have getters that do things (a deprecation warning, a lazy load), and none of them runs.
 */
export function findPath(root: unknown, target: unknown, getters = true): string[] | undefined {
  if (root === target) return [];
  let level: Array<[unknown, string[]]> = [[root, []]];
  const seen = new Set<unknown>([root]);
  for (let depth = 0; depth < MAX_DEPTH && level.length > 0; depth++) {
    const next: Array<[unknown, string[]]> = [];
    for (const [container, path] of level) {
      if ((typeof container !== 'object' && typeof container !== 'function') || container === null) continue;
      for (const key of ownKeys(container)) {
        const value = getters ? read(container, key) : dataValue(container, key);
        if (value === target) return [...path, key];
        if (value !== null && (typeof value === 'object' || typeof value === 'function') && !seen.has(value)) {
          seen.add(value);
          next.push([value, [...path, key]]);
        }
      }
    }
    level = next;
  }
  return undefined;
}
