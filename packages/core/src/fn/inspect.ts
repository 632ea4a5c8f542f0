/**
 * What V8 knows about a function that JavaScript cannot see: where it was defined, and which
 * names its enclosing scopes bind. Read through an in-thread `node:inspector` session, created on
 * first need (importing tothread starts none), whose calls answer synchronously.
 */
import { createRequire } from 'node:module';
import type { Session } from 'node:inspector';

const require = createRequire(import.meta.url);

interface RemoteObject {
  objectId?: string;
  description?: string;
  value?: unknown;
}
interface PropertyList {
  result: Array<{ name: string; value?: RemoteObject }>;
  internalProperties?: Array<{ name: string; value?: RemoteObject }>;
}

let session: Session | null | undefined;
let probeId = 0;

function open(): Session | null {
  if (session === undefined) {
    try {
      const { Session: InspectorSession } = require('node:inspector') as typeof import('node:inspector');
      session = new InspectorSession();
      session.connect();
    } catch {
      session = null; // a Node built without the inspector: callers fall back to "unknown"
    }
  }
  return session;
}

function post<T>(method: string, params?: object): T {
  let answer: { error: Error | null; result: T } | undefined;
  open()!.post(method, params, (error, result) => {
    answer = { error, result: result as T };
  });
  if (answer === undefined) throw new Error(`node:inspector did not answer ${method} synchronously`);
  if (answer.error) throw answer.error;
  return answer.result;
}

/** Runs `read` with the function's internal properties, releasing every remote object after. */
function withInternals<T>(fn: Function, read: (internals: PropertyList['internalProperties'] & object) => T): T | undefined {
  if (open() === null) return undefined;
  const key = `__tothread_probe_${++probeId}`;
  (globalThis as Record<string, unknown>)[key] = fn;
  try {
    post('Runtime.evaluate', { expression: '0', objectGroup: 'tothread' });
    const { result } = post<{ result: RemoteObject }>('Runtime.evaluate', { expression: `globalThis.${key}`, objectGroup: 'tothread' });
    if (result.objectId === undefined) return undefined;
    const props = post<PropertyList>('Runtime.getProperties', { objectId: result.objectId, ownProperties: true });
    return read(props.internalProperties ?? []);
  } catch {
    return undefined;
  } finally {
    delete (globalThis as Record<string, unknown>)[key];
    try {
      post('Runtime.releaseObjectGroup', { objectGroup: 'tothread' });
    } catch {
      // nothing was allocated
    }
  }
}

/** The URL of the script that defines `fn`, or `undefined` when V8 cannot say. */
export function scriptUrlOf(fn: Function): string | undefined {
  const scriptId = withInternals(fn, (internals) => {
    const location = internals.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as { scriptId?: string } | undefined;
    return location?.scriptId;
  });
  if (scriptId === undefined) return undefined;
  // Enabling the debugger replays every parsed script, synchronously; we keep the one we need.
  let url: string | undefined;
  const onScript = (message: { params: { scriptId: string; url: string } }): void => {
    if (message.params.scriptId === scriptId) url = message.params.url;
  };
  session!.on('Debugger.scriptParsed', onScript);
  try {
    post('Debugger.enable');
  } finally {
    session!.off('Debugger.scriptParsed', onScript);
    post('Debugger.disable');
  }
  return url;
}

/**
 * Of `names`, those that a scope around `fn` (a closure, block, module or script scope: anything
 * but the global object) binds. `undefined` when V8 cannot say.
 */
export function boundInScopes(fn: Function, names: readonly string[]): string[] | undefined {
  return withInternals(fn, (internals) => {
    const scopes = internals.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (scopes === undefined) return [];
    const bound = new Set<string>();
    for (const scope of post<PropertyList>('Runtime.getProperties', { objectId: scopes, ownProperties: true }).result) {
      if (!/^\d+$/.test(scope.name) || scope.value?.objectId === undefined || scope.value.description === 'Global') continue;
      for (const variable of post<PropertyList>('Runtime.getProperties', { objectId: scope.value.objectId, ownProperties: true }).result) {
        bound.add(variable.name);
      }
    }
    return names.filter((name) => bound.has(name));
  });
}
