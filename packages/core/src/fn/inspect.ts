/**
 * What V8 knows about a function that JavaScript cannot see: where it was defined, and which
 * names its enclosing scopes bind. Read through an in-thread `node:inspector` session, created on
 * first need (importing tothread starts none), whose calls answer synchronously.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Session } from 'node:inspector';
import { setBounded } from '../bounded.js';

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

/** The URL of the script that defines `fn` (a `file:` URL for a file), or `undefined` when V8 cannot say. */
export function scriptUrlOf(fn: Function): string | undefined {
  const scriptId = withInternals(fn, (internals) => {
    const location = internals.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as { scriptId?: string } | undefined;
    return location?.scriptId;
  });
  if (scriptId === undefined) return undefined;
  if (scriptUrls.has(scriptId)) return scriptUrls.get(scriptId);
  let url: string | undefined;
  eachScript((script) => {
    if (script.scriptId === scriptId) url = script.url;
  });
  setBounded(scriptUrls, scriptId, url, SCRIPT_URLS_LIMIT);
  return url;
}

/**
 * Script URLs by script id (ids are never reused): listing the scripts costs milliseconds, and
 * every function of a script has the same answer.
 */
const scriptUrls = new Map<string, string | undefined>();
const SCRIPT_URLS_LIMIT = 4096;

/** Whether this thread has loaded the script at `url` (a `file:` URL): false when V8 cannot say. */
export function scriptLoaded(url: string): boolean {
  if (open() === null) return false;
  let loaded = false;
  eachScript((script) => {
    if (script.url === url) loaded = true;
  });
  return loaded;
}

/**
 * Visits every script V8 has parsed on this thread: enabling the debugger replays them,
 * synchronously. V8 lists CommonJS modules by path, ES modules by URL: both come as URLs.
 */
function eachScript(visit: (script: { scriptId: string; url: string }) => void): void {
  const onScript = ({ params: { scriptId, url } }: { params: { scriptId: string; url: string } }): void =>
    visit({ scriptId, url: url.startsWith('/') ? pathToFileURL(url).href : url });
  session!.on('Debugger.scriptParsed', onScript);
  try {
    post('Debugger.enable');
  } finally {
    session!.off('Debugger.scriptParsed', onScript);
    post('Debugger.disable');
  }
}

/**
 * The names a script's outermost scope binds (its module scope, or its CommonJS wrapper's), by
 * script id: the same for every function of the script, and the costly one to list (a bundle's
 * thousands of functions), so it is listed once.
 */
const outermost = new Map<string, ReadonlySet<string>>();
const OUTERMOST_LIMIT = 256;

function variablesOf(objectId: string): Set<string> {
  return new Set(post<PropertyList>('Runtime.getProperties', { objectId, ownProperties: true }).result.map((variable) => variable.name));
}

/**
 * Of `names`, those that a scope around `fn` (a closure, block, module or script scope: anything
 * but the global object) binds. `undefined` when V8 cannot say.
 */
export function boundInScopes(fn: Function, names: readonly string[]): string[] | undefined {
  return withInternals(fn, (internals) => {
    const scopes = internals.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (scopes === undefined) return [];
    const script = (internals.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as { scriptId?: string } | undefined)?.scriptId;
    const around = post<PropertyList>('Runtime.getProperties', { objectId: scopes, ownProperties: true }).result.filter(
      (scope) => /^\d+$/.test(scope.name) && scope.value?.objectId !== undefined && scope.value.description !== 'Global',
    );
    const bound: Array<ReadonlySet<string>> = [];
    around.forEach((scope, i) => {
      const last = i === around.length - 1;
      // A classic script's scope (REPL, -e) grows as later scripts run: it is listed each time.
      const cacheable = last && script !== undefined && (scope.value!.description === 'Module' || scope.value!.description === 'Closure');
      let variables = cacheable ? outermost.get(script) : undefined;
      if (variables === undefined) {
        variables = variablesOf(scope.value!.objectId!);
        if (cacheable) {
          setBounded(outermost, script, variables, OUTERMOST_LIMIT);
        }
      }
      bound.push(variables);
    });
    return names.filter((name) => bound.some((variables) => variables.has(name)));
  });
}
