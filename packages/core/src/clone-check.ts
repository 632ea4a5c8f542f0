/**
 * Finds the first value structured clone would refuse, and where it sits, without copying
 * anything. Used before dispatch, because a clone failure inside the pool would surface far from
 * the call (or not at all), and on the worker for results.
 */

const UNCLONEABLE_TAGS = new Set(['WeakMap', 'WeakSet', 'WeakRef', 'Promise', 'FinalizationRegistry', 'Generator', 'AsyncGenerator']);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function member(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** What is wrong at `path`. */
export interface Uncloneable {
  readonly path: string;
  readonly detail: string;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (\`${value.name}\`)` : ''}`;
  if (typeof value === 'symbol') return `a symbol (${String(value)})`;
  return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
}

/**
 * Returns the first uncloneable value in `value` (depth-first, in clone order), or `undefined`.
 * Values structured clone handles natively (buffers, views, dates, regexps, errors) are not entered.
 */
export function findUncloneable(value: unknown, path: string, seen = new Set<object>()): Uncloneable | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return { path, detail: `it is ${describe(value)}` };
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return undefined;
  if (value instanceof Error || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) return undefined;
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (UNCLONEABLE_TAGS.has(tag)) return { path, detail: `it is ${describe(value)}` };
  seen.add(value);
  if (value instanceof Map) {
    let i = 0;
    for (const [k, v] of value) {
      const found = findUncloneable(k, `${path}.keys()[${i}]`, seen) ?? findUncloneable(v, `${path}.get(${i})`, seen);
      if (found) return found;
      i++;
    }
    return undefined;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const v of value) {
      const found = findUncloneable(v, `${path}.values()[${i++}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  const isArray = Array.isArray(value);
  for (const key of Object.keys(value)) {
    const found = findUncloneable((value as Record<string, unknown>)[key], isArray ? `${path}[${key}]` : member(path, key), seen);
    if (found) return found;
  }
  return undefined;
}
