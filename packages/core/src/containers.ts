/**
 * Where `transfer()` marks are looked for, on either thread: inside the plain objects and arrays
 * of a call's arguments, and of its results (there Maps and Sets too), this many levels deep at
 * most. Class instances are not entered.
 */
export const MARK_DEPTH = 8;

/** Whether `value` is an array or an object with no class (`{}`, `Object.create(null)`). */
export function isPlainContainer(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
