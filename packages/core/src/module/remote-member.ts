/**
 * What the proxies of a facade and of an instance share: they stand for things that live in a
 * worker, so this thread can read and call them, never change them, and JSON leaves them out.
 */
import * as check from '../validate.js';

/**
 * Proxy traps that refuse to set, define or delete a member, with `what` said of the member
 * (`\`level\` of the facade of file:///…`) and the fix. Without them a write lands on the proxy's
 * stand-in, silently lost in sloppy code.
 */
export function readOnly(what: (key: string | symbol) => string, fix: string): Pick<ProxyHandler<Function>, 'set' | 'defineProperty' | 'deleteProperty'> {
  const refuse = (key: string | symbol): never => {
    throw check.valueError(`Cannot change ${what(key)}: it lives in a worker thread, and this thread only reads and calls it. ${fix}`);
  };
  return { set: (_target, key) => refuse(key), defineProperty: (_target, key) => refuse(key), deleteProperty: (_target, key) => refuse(key) };
}

/**
 * The proxy trap that refuses `new` on a member, saying `what` it is and the fix. Without it `new`
 * builds the proxy's stand-in and runs nothing: the call is lost without a word.
 */
export function notConstructible(what: string, fix: string): Pick<ProxyHandler<Function>, 'construct'> {
  return {
    construct: () => {
      throw check.valueError(`Cannot call ${what} with new: it lives in a worker thread. ${fix}`);
    },
  };
}

/**
 * The `toJSON` of a facade or an instance, made of its remote `member`. JSON.stringify calls it
 * with one key (a logger's, say), and is answered here with `undefined`: the facade or instance is
 * left out, as any function is, and its worker is not asked. Called by hand (a class's own
 * `toJSON()`, with no argument), it is the remote method.
 */
export function jsonAware(member: unknown): (...args: unknown[]) => unknown {
  return function toJSON(...args: unknown[]): unknown {
    return args.length === 1 && typeof args[0] === 'string' ? undefined : (member as (...a: unknown[]) => unknown)(...args);
  };
}
