import type { HelperFn } from './helper.js';

/** A helper with the program types that may call it. */
export interface HelperDefinition {
  id: number;
  /** Name without the bpf_ prefix, as in the kernel's FN() list. */
  name: string;
  fn: HelperFn;
  /** Program types (enum bpf_prog_type) that may call it, or 'all'. */
  types: readonly number[] | 'all';
}

/** Every helper the vm implements. */
export const HELPER_DEFINITIONS: HelperDefinition[] = [];
