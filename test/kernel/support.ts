/**
 * Shared helpers for kernel tests: whether bpf() can be used here, fd counting, and
 * scratch cgroups/namespaces that are always removed.
 */
import { readdirSync } from 'node:fs';
import { describe } from 'vitest';
import { inCI } from '../support/clang.js';
import { BpfCmd, MapCreateAttr } from '../../src/kernel/bpf-attr.js';
import { encodeStruct } from '../../src/kernel/layout.js';
import { native } from '../../src/kernel/native.js';

/** Can this process create a BPF map? (Loads the addon; false when it is missing.) */
export function bpfAvailable(): boolean {
  try {
    const n = native();
    const fd = n.bpf(BpfCmd.MAP_CREATE, encodeStruct(MapCreateAttr, { map_type: 2, key_size: 4, value_size: 4, max_entries: 1 }));
    if (fd < 0) return false;
    n.close(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe` for tests that need the kernel: they run whenever bpf() works, and under
 * CI=true always (so a broken environment fails instead of skipping).
 */
export const describeKernel: typeof describe = inCI || bpfAvailable() ? describe : (describe.skip as typeof describe);

/** Open file descriptors of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A little-endian u32 as 4 bytes. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** A little-endian u64 as 8 bytes. */
export function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** Read a little-endian u32 / u64 back. */
export function readU32(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}
export function readU64(b: Uint8Array, at = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
}
