import type { Machine } from '../interpreter.js';

/**
 * A helper function as the interpreter calls it: arguments are in the machine's
 * registers r1-r5 (`m.lo[i]`, `m.hi[i]`), the result goes to r0 through `m.ret*`.
 * Helpers fault through the machine (`m.fault`) when the kernel would refuse the call.
 */
export type HelperFn = (m: Machine) => void;

/** Helpers by id, as available to one program type. */
export type HelperTable = ReadonlyMap<number, HelperFn>;
