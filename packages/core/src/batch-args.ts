/**
 * The arguments of a batch's calls as they travel. When every call has as many arguments (calls
 * of one function mostly do), they go one after another in one flat array: structured clone pays
 * per object, and one array of 200 calls' arguments costs the main thread several times less to
 * send than 200 arrays of one.
 */

/** What travels: the flat list with each call's `arity`, or one list per call when they differ. */
export interface PackedArgs {
  readonly args: readonly unknown[];
  readonly arity?: number;
}

/** Packs the argument lists of a batch's calls, in slot order. */
export function packArgs(lists: readonly (readonly unknown[])[]): PackedArgs {
  const arity = lists[0]!.length;
  for (let i = 1; i < lists.length; i++) if (lists[i]!.length !== arity) return { args: lists };
  if (arity === 1) return { args: lists.map((list) => list[0]), arity };
  const args = new Array<unknown>(lists.length * arity);
  for (let i = 0; i < lists.length; i++) for (let j = 0; j < arity; j++) args[i * arity + j] = lists[i]![j];
  return { args, arity };
}

/** The arguments of the call in `slot`, from what {@link packArgs} made. */
export function argsAt({ args, arity }: PackedArgs, slot: number): readonly unknown[] {
  if (arity === undefined) return args[slot] as readonly unknown[];
  return arity === 1 ? [args[slot]] : args.slice(slot * arity, (slot + 1) * arity);
}
