/**
 * The attr buffer every map element operation shares (one per thread and module
 * instance). It is bound to a native function once, so an element operation is: write a
 * few 32-bit words at offsets taken from the MapElemAttr layout, then one native call
 * carrying only the command — no allocation and no encoding per call.
 */
import { MapElemAttr } from './bpf-attr.js';
import { stableBuffer } from './layout.js';
import { native } from './native.js';

/** Word indexes (32-bit) of the MapElemAttr fields, derived from the layout. */
export const ElemWord = {
  MAP_FD: MapElemAttr.offset('map_fd') / 4,
  KEY_LO: MapElemAttr.offset('key') / 4,
  KEY_HI: MapElemAttr.offset('key') / 4 + 1,
  VALUE_LO: MapElemAttr.offset('value') / 4,
  VALUE_HI: MapElemAttr.offset('value') / 4 + 1,
  FLAGS_LO: MapElemAttr.offset('flags') / 4,
  FLAGS_HI: MapElemAttr.offset('flags') / 4 + 1,
} as const;

export interface ElementCall {
  /** The shared attr as 32-bit words (little-endian host). */
  readonly words: Uint32Array;
  /** bpf(cmd, shared attr) -> result or -errno. */
  readonly call: (cmd: number) => number;
  /**
   * Who wrote every word but the command last, so a loop of calls on one map rewrites
   * nothing; a writer that does not track this must set it to undefined.
   */
  owner: unknown;
}

let shared: ElementCall | undefined;

/** The shared element attr, registered on first use. */
export function elementCall(): ElementCall {
  if (shared) return shared;
  const bytes = stableBuffer(MapElemAttr.size);
  // Bound once: each call then passes only the command (see bindAttr in native/bpfkit.c).
  shared = { words: new Uint32Array(bytes.buffer), call: native().bindAttr(bytes), owner: undefined };
  return shared;
}

/** Split a user-space address into the two 32-bit words of a pointer field. */
export function addressWords(address: bigint): [lo: number, hi: number] {
  return [Number(address & 0xffffffffn), Number(address >> 32n)];
}
