/**
 * The arguments of a batch's calls as they travel. When every call has as many arguments (calls
 * of one function mostly do), they go one after another in one flat array: structured clone pays
 * per object, and one array of 200 calls' arguments costs the main thread less to send than 200
 * arrays (measured posting on a MessageChannel: ~3-6 µs against ~37-43 µs for 218 calls of one
 * argument, ~8 against ~39 for three each).
 */

/** What travels: the flat list with each call's `arity`, or one list per call when they differ. */
export interface PackedArgs {
  readonly args: readonly unknown[];
  readonly arity?: number;
}

/**
 * Packs the argument lists of a batch's calls (at least one), in slot order. The flat list is
 * built by pushing: an array made at its length (`new Array(n)`) stays "holey" in V8 even once
 * full, and structured clone then sends it element by element, slower than the lists it replaces.
 */
export function packArgs(lists: readonly (readonly unknown[])[]): PackedArgs {
  const arity = lists[0]!.length;
  for (let i = 1; i < lists.length; i++) if (lists[i]!.length !== arity) return { args: lists };
  const args: unknown[] = [];
  for (const list of lists) for (let j = 0; j < arity; j++) args.push(list[j]);
  return { args, arity };
}

/** The arguments of the call in `slot`, from what {@link packArgs} made. */
export function argsAt({ args, arity }: PackedArgs, slot: number): readonly unknown[] {
  if (arity === undefined) return args[slot] as readonly unknown[];
  return arity === 1 ? [args[slot]] : args.slice(slot * arity, (slot + 1) * arity);
}
