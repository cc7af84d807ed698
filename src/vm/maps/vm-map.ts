import type { BpfMap } from '../../api/types.js';
import type { Region } from '../memory.js';

/**
 * A map as the vm's programs see it: besides the user-space {@link BpfMap} operations,
 * the element operations helpers make, which return 0 or a negative errno instead of
 * throwing, and hand out live references to values (a program's pointer into a map
 * value writes the map).
 */
export interface VmMap extends BpfMap {
  /** The map's "fd": its number in the runtime (what lddw map_fd refers to). */
  readonly fd: number;
  /** Number of virtual CPUs per-CPU maps keep values for. */
  readonly cpus: number;
  /** The handle region lddw map_fd points at. */
  handle: Region | undefined;
  /** May programs write values (false for BPF_F_RDONLY_PROG maps such as .rodata)? */
  readonly programWritable: boolean;

  /** Live reference to the value for `key` on `cpu`, or undefined (bpf_map_lookup_elem). */
  lookupRef(key: Uint8Array, cpu: number): Uint8Array | undefined;
  /** bpf_map_update_elem from a program: 0 or -errno. */
  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number;
  /** bpf_map_delete_elem from a program: 0 or -errno. */
  deleteElem(key: Uint8Array): number;
  /** bpf_map_push_elem: 0 or -errno (queue, stack, bloom filter). */
  pushElem?(value: Uint8Array, flags: number): number;
  /** bpf_map_pop_elem / peek_elem into `out`: 0 or -errno. */
  popElem?(out: Uint8Array, remove: boolean): number;
}

/** Round up to a multiple of 8, as the kernel sizes per-CPU values and records. */
export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}
