/**
 * Overloaded functions, typed call by call. `Parameters<F>` and `ReturnType<F>` see only an
 * overloaded function's last signature, so `readFileSync(path, 'utf8')` offloaded would be typed
 * `Promise<string | Buffer>`. These types read up to eight signatures instead (the last eight of a
 * function that has more): an offloaded call is typed by the signature its arguments pick, as the
 * sync call would be.
 */
import type { AnyFunction, Offloaded } from './to-thread.js';

/**
 * The signatures of `F` as `[parameters, return type]` pairs, in declaration order. A function
 * with one signature gives one pair; a generic one is read with its type parameters unknown, as
 * `ReturnType` reads it.
 */
export type Signatures<F> = F extends {
  (...args: infer A1): infer R1;
  (...args: infer A2): infer R2;
  (...args: infer A3): infer R3;
  (...args: infer A4): infer R4;
  (...args: infer A5): infer R5;
  (...args: infer A6): infer R6;
  (...args: infer A7): infer R7;
  (...args: infer A8): infer R8;
}
  ? Distinct<[[A1, R1], [A2, R2], [A3, R3], [A4, R4], [A5, R5], [A6, R6], [A7, R7], [A8, R8]]>
  : never;

/**
 * Drops each pair an earlier one covers. TypeScript fills the slots of a function with fewer
 * signatures by repeating its first one; and a call that a covered signature accepts resolves to
 * the earlier one anyway, so nothing is lost.
 */
type Distinct<T extends unknown[], Seen = never> = T extends [infer First, ...infer Rest]
  ? [First] extends [Seen]
    ? Distinct<Rest, Seen>
    : [First, ...Distinct<Rest, Seen | First>]
  : [];

/** Each signature of `F` made async: an intersection, which TypeScript resolves as overloads. */
export type AsyncSignatures<F> = Overloads<Signatures<F>>;

type Overloads<S extends unknown[]> = S extends [[infer A extends unknown[], infer R]]
  ? (...args: A) => Offloaded<R>
  : S extends [[infer A extends unknown[], infer R], ...infer Rest]
    ? ((...args: A) => Offloaded<R>) & Overloads<Rest>
    : never;

/**
 * The argument lists `F` accepts, one per signature, each also as toThread's `const` type
 * parameter infers it (arrays readonly: `[1, 2]` is `readonly [1, 2]`; the worker gets a copy, so
 * readonly does not matter). `Parameters<F>` is among them, so a generic wrapper that forwards
 * `...args: Parameters<F>` still type-checks.
 */
export type ArgsOf<F extends AnyFunction> = Parameters<F> | (Signatures<F>[number] extends infer S ? (S extends [infer A, unknown] ? A | AsConst<A> : never) : never);

/** What `F` returns when called with `A`: the return type of the first signature that accepts `A`. */
export type ResultOf<F, A> = First<Signatures<F>, A>;

type First<S extends unknown[], A> = S extends [[infer P, infer R], ...infer Rest] ? (A extends P | AsConst<P> ? R : First<Rest, A>) : never;

/**
 * `T` with its arrays readonly, three levels down (in objects too): what `const` inference makes of
 * a literal. An object with private or protected members (a class instance, which no literal is)
 * stays as it is: a mapped copy would drop them, and let a plain object pass for it.
 */
type AsConst<T, Depth extends unknown[] = []> = Depth['length'] extends 3
  ? T
  : T extends readonly unknown[]
    ? { readonly [K in keyof T]: AsConst<T[K], [...Depth, 0]> }
    : T extends (...args: never) => unknown
      ? T
      : T extends object
        ? { [K in keyof T]: T[K] } extends T
          ? { [K in keyof T]: AsConst<T[K], [...Depth, 0]> }
          : T
        : T;
