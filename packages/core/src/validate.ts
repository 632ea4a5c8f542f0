/** One message template for every option check: what was expected, what was received. */

function describe(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value).slice(1, -1)}\` (string)`;
  if (typeof value === 'function') return `\`${value.name || 'anonymous'}\` (function)`;
  if (value === null) return '`null`';
  if (typeof value === 'object') return `\`${Object.prototype.toString.call(value).slice(8, -1)}\` (object)`;
  return `\`${String(value)}\` (${typeof value})`;
}

function codeError<E extends Error>(error: E, code: string): E & { code: string } {
  return Object.assign(error, { code });
}

/** A `TypeError` with code `ERR_INVALID_ARG_TYPE`, in the form ``Expected `x` to be …, got `y` (type)``. */
export function typeError(name: string, expected: string, value: unknown): TypeError & { code: string } {
  return codeError(new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`), 'ERR_INVALID_ARG_TYPE');
}

/**
 * The error for a value that is none of the words an option takes, in the same form: a string
 * (`'queue'` for `'start'` or `'call'`) is of the right type but refused (`ERR_INVALID_ARG_VALUE`),
 * anything else is of the wrong type.
 */
export function choiceError(name: string, expected: string, value: unknown): TypeError & { code: string } {
  const error = typeError(name, expected, value);
  if (typeof value === 'string') error.code = 'ERR_INVALID_ARG_VALUE';
  return error;
}

/** A `TypeError` with code `ERR_INVALID_ARG_VALUE`: `message` says what is wrong and what to do instead. */
export function valueError(message: string): TypeError & { code: string } {
  return codeError(new TypeError(message), 'ERR_INVALID_ARG_VALUE');
}

/** A `RangeError` with code `ERR_OUT_OF_RANGE`: `message` says what is wrong and what to do instead. */
export function rangeMessage(message: string): RangeError & { code: string } {
  return codeError(new RangeError(message), 'ERR_OUT_OF_RANGE');
}

/** A `RangeError` with code `ERR_OUT_OF_RANGE`, in the same form. */
export function rangeError(name: string, expected: string, value: unknown): RangeError & { code: string } {
  return codeError(new RangeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`), 'ERR_OUT_OF_RANGE');
}

/** Checks an optional whole number from `min` to `max`; returns it (or undefined). */
export function optionalInteger(name: string, value: unknown, min: number, max = Infinity): number | undefined {
  if (value === undefined) return undefined;
  const range = max === Infinity ? `from ${min} and up` : `from ${min} to ${max}`;
  if (typeof value !== 'number') throw typeError(name, `a number ${range}`, value);
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(name, `a whole number ${range}`, value);
  return value;
}

/** Checks a required whole number from `min` up; returns it. */
export function integer(name: string, value: unknown, min: number): number {
  const checked = optionalInteger(name, value, min);
  if (checked === undefined) throw typeError(name, `a number from ${min} and up`, value);
  return checked;
}

/** The longest delay a Node timer can wait; a longer one would fire after 1 ms. */
export const TIMER_MAX = 2 ** 31 - 1;

/**
 * Checks an optional duration in ms: from 0 to `TIMER_MAX` (Infinity also allowed where
 * `allowInfinity`, meaning "no limit").
 */
export function optionalDuration(name: string, value: unknown, allowInfinity = false): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw typeError(name, 'a number of milliseconds', value);
  if (allowInfinity && value === Infinity) return value;
  if (Number.isNaN(value) || value < 0 || value > TIMER_MAX) {
    const range = `a number of milliseconds from 0 to ${TIMER_MAX}${allowInfinity ? ', or Infinity' : ''}`;
    throw rangeError(name, range, value);
  }
  return value;
}

/** Checks a required duration in ms, from 0 to `TIMER_MAX`; returns it. */
export function duration(name: string, value: unknown): number {
  const checked = optionalDuration(name, value);
  if (checked === undefined) throw typeError(name, 'a number of milliseconds', value);
  return checked;
}

/** Checks an optional boolean; returns it (or undefined). */
export function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw typeError(name, 'true or false', value);
}

/** Checks an optional string; returns it (or undefined). */
export function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw typeError(name, 'a string', value);
}

/** Checks that `value` can be looped over with `for...of` (or, where `orAsync`, `for await`). */
export function iterable(name: string, value: unknown, orAsync = false): void {
  const v = value as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown } | null | undefined;
  if (typeof v?.[Symbol.iterator] === 'function' || (orAsync && typeof v?.[Symbol.asyncIterator] === 'function')) return;
  throw typeError(name, orAsync ? 'an iterable or an async iterable' : 'an iterable (an array, a Set, a generator)', value);
}

/** Checks an optional AbortSignal. */
export function optionalSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw typeError(name, 'an AbortSignal', value);
  return value;
}

/** Checks that `value` is a plain options object (or undefined). */
export function optionsObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError(name, 'an options object', value);
  return value as Record<string, unknown>;
}

/** Rejects option names that do not exist, so a typo does not pass silently. */
export function knownKeys(name: string, value: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw codeError(
        new TypeError(`Unknown option \`${key}\` in \`${name}\`: expected one of ${keys.map((k) => `\`${k}\``).join(', ')}`),
        'ERR_INVALID_ARG_VALUE',
      );
    }
  }
}
