/**
 * What each map type needs at creation and how user space sees its values: the fixed
 * key/value sizes, required flags, whether values are per-CPU, and whether the kernel
 * wants BTF for it. Kept as one table so creation, validation and the typed views agree.
 */
import { MapFlags, MapType, mapTypeName } from '../uapi/index.js';

export interface MapKind {
  /** Key size the kernel requires (undefined: the caller chooses). */
  keySize?: number;
  /** Value size the kernel requires (undefined: the caller chooses). */
  valueSize?: number;
  /** Value sizes the kernel accepts when it offers a choice (e.g. 4 or 8 for sockmap). */
  valueSizes?: readonly number[];
  /** max_entries the kernel requires (0 for local storages). */
  maxEntries?: number;
  /** Flags without which creation fails. */
  requiredFlags?: number;
  /** One value slot per possible CPU in user space. */
  perCpu?: boolean;
  /** Creation needs BTF for key and value (local storages). */
  needsBtf?: boolean;
  /** Needs an inner map (maps of maps). */
  needsInnerMap?: boolean;
  /** Values written from user space are file descriptors (programs, maps, sockets, perf events, cgroups). */
  fdValues?: boolean;
  /** No element access from user space beyond the special cases (ring buffers). */
  noElements?: boolean;
  /** max_entries is a byte size: a power-of-two multiple of the page size. */
  byteSized?: boolean;
  /** max_entries defaults to the number of possible CPUs. */
  perCpuEntries?: boolean;
}

const kinds: Partial<Record<number, MapKind>> = {
  [MapType.HASH]: {},
  [MapType.ARRAY]: { keySize: 4 },
  [MapType.PROG_ARRAY]: { keySize: 4, valueSize: 4, fdValues: true },
  [MapType.PERF_EVENT_ARRAY]: { keySize: 4, valueSize: 4, fdValues: true, perCpuEntries: true },
  [MapType.PERCPU_HASH]: { perCpu: true },
  [MapType.PERCPU_ARRAY]: { keySize: 4, perCpu: true },
  [MapType.STACK_TRACE]: { keySize: 4 },
  [MapType.CGROUP_ARRAY]: { keySize: 4, valueSize: 4, fdValues: true },
  [MapType.LRU_HASH]: {},
  [MapType.LRU_PERCPU_HASH]: { perCpu: true },
  [MapType.LPM_TRIE]: { requiredFlags: MapFlags.NO_PREALLOC },
  [MapType.ARRAY_OF_MAPS]: { keySize: 4, valueSize: 4, needsInnerMap: true, fdValues: true },
  [MapType.HASH_OF_MAPS]: { valueSize: 4, needsInnerMap: true, fdValues: true },
  [MapType.DEVMAP]: { keySize: 4, valueSizes: [4, 8], fdValues: true },
  [MapType.SOCKMAP]: { keySize: 4, valueSizes: [4, 8], fdValues: true },
  [MapType.CPUMAP]: { keySize: 4, valueSizes: [4, 8] },
  [MapType.XSKMAP]: { keySize: 4, valueSize: 4, fdValues: true },
  [MapType.SOCKHASH]: { valueSizes: [4, 8], fdValues: true },
  [MapType.CGROUP_STORAGE]: { maxEntries: 0 },
  [MapType.REUSEPORT_SOCKARRAY]: { keySize: 4, valueSizes: [4, 8], fdValues: true },
  [MapType.PERCPU_CGROUP_STORAGE]: { maxEntries: 0, perCpu: true },
  [MapType.QUEUE]: { keySize: 0 },
  [MapType.STACK]: { keySize: 0 },
  [MapType.SK_STORAGE]: { keySize: 4, maxEntries: 0, requiredFlags: MapFlags.NO_PREALLOC, needsBtf: true, fdValues: false },
  [MapType.DEVMAP_HASH]: { keySize: 4, valueSizes: [4, 8], fdValues: true },
  [MapType.STRUCT_OPS]: { keySize: 4, maxEntries: 1 },
  [MapType.RINGBUF]: { keySize: 0, valueSize: 0, noElements: true, byteSized: true },
  [MapType.INODE_STORAGE]: { keySize: 4, maxEntries: 0, requiredFlags: MapFlags.NO_PREALLOC, needsBtf: true },
  [MapType.TASK_STORAGE]: { keySize: 4, maxEntries: 0, requiredFlags: MapFlags.NO_PREALLOC, needsBtf: true },
  [MapType.BLOOM_FILTER]: { keySize: 0 },
  [MapType.USER_RINGBUF]: { keySize: 0, valueSize: 0, noElements: true, byteSized: true },
  [MapType.CGRP_STORAGE]: { keySize: 4, maxEntries: 0, requiredFlags: MapFlags.NO_PREALLOC, needsBtf: true },
  [MapType.ARENA]: { keySize: 0, valueSize: 0, requiredFlags: MapFlags.MMAPABLE, noElements: true },
};

/** The rules for a map type. @throws RangeError for a type bpfkit does not know. */
export function mapKind(type: number): MapKind {
  const kind = kinds[type];
  if (!kind) throw new RangeError(`unknown map type ${type}`);
  return kind;
}

/** Is a value of this map type one slot per possible CPU in user space? */
export function isPerCpu(type: number): boolean {
  return kinds[type]?.perCpu === true;
}

/** "hash", "lru_percpu_hash", ... for messages. */
export function mapTypeLabel(type: number): string {
  return mapTypeName(type)?.toLowerCase() ?? `type ${type}`;
}
