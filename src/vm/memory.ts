import { VmFault } from './errors.js';

/**
 * The vm's virtual address space. A pointer is a 64-bit value whose high word names a
 * region (its id, plus a generation so that a pointer to a released region can never
 * reach the region that later reuses the id) and whose low word is `REGION_BASE` plus
 * the offset inside the region. Every load and store resolves its address here, and
 * anything that is not inside a live region of the right permission is a {@link VmFault}.
 *
 * Regions start at `REGION_BASE` rather than 0 so that an access a little below a region
 * (a negative offset from a pointer to its start) still names that region in the fault.
 */
export const REGION_BASE = 0x1000_0000;
/** Largest region: the low word must not overflow past 0x7fffffff. */
export const MAX_REGION_SIZE = 0x6000_0000;

const ID_BITS = 20;
/** Mask of a pointer's high word that gives the region's slot in {@link AddressSpace.table}. */
export const ID_MASK = (1 << ID_BITS) - 1;
const GEN_MASK = 0x7ff;

/** What a region holds; it names the region in faults. */
export type RegionKind =
  | 'stack'
  | 'context'
  | 'packet'
  | 'packet_meta'
  | 'map_value'
  | 'ringbuf_record'
  | 'rodata'
  | 'memory'
  | 'map'
  | 'code';

/**
 * Converts loads and stores of a context region the way the kernel rewrites context
 * accesses (e.g. `__sk_buff.data` is a u32 field in the uapi struct but loads a pointer).
 * Returns false for an access the program type may not make.
 */
export interface ContextAccess {
  /** Write the loaded value into `out[0]` (low word) and `out[1]` (high word). */
  load(offset: number, size: number, out: Int32Array): boolean;
  store(offset: number, size: number, lo: number, hi: number): boolean;
}

/** One contiguous piece of memory a program may address. */
export class Region {
  /** High word of pointers into this region. */
  hi = 0;
  view: DataView;
  size: number;
  constructor(
    readonly kind: RegionKind,
    /** Human name for faults, e.g. "stack frame 0" or "map counters value". */
    readonly name: string,
    public bytes: Uint8Array,
    public writable: boolean,
    /** Set for context regions: field accesses are converted. */
    public context: ContextAccess | null = null,
    /** For kind 'map' and 'code': the object this handle stands for. */
    public target: unknown = undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.size = bytes.byteLength;
  }

  /** Point the region at other bytes (per-run regions are reused). */
  rebind(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.size = bytes.byteLength;
  }
}

/** A pointer split into its two 32-bit halves. */
export interface Pointer {
  lo: number;
  hi: number;
}

export class AddressSpace {
  /** Regions by slot (the interpreter's fast path reads it directly). */
  readonly table: (Region | undefined)[] = [undefined];
  private readonly generations: number[] = [0];
  private readonly free: number[] = [];
  /** Offset inside the region found by the last {@link resolve}. */
  offset = 0;

  /** Map a region into the address space. */
  add(region: Region): Region {
    if (region.size > MAX_REGION_SIZE) throw new RangeError(`region ${region.name} is ${region.size} bytes; the vm maps at most ${MAX_REGION_SIZE}`);
    let id = this.free.pop();
    if (id === undefined) {
      id = this.table.length;
      if (id > ID_MASK) throw new RangeError(`the vm address space holds at most ${ID_MASK} regions`);
      this.table.push(undefined);
      this.generations.push(0);
    }
    const gen = (this.generations[id]! + 1) & GEN_MASK;
    this.generations[id] = gen;
    region.hi = (gen << ID_BITS) | id;
    this.table[id] = region;
    return region;
  }

  /** Unmap a region: every pointer into it becomes invalid. */
  remove(region: Region): void {
    const id = region.hi & ID_MASK;
    if (region.hi === 0 || this.table[id] !== region) return;
    this.table[id] = undefined;
    region.hi = 0;
    this.free.push(id);
  }

  /** The live region a pointer's high word names, if any. */
  regionOf(hi: number): Region | undefined {
    const r = this.table[hi & ID_MASK];
    return r !== undefined && r.hi === hi ? r : undefined;
  }

  /** Low word of a pointer `offset` bytes into a region. */
  static lo(offset: number): number {
    return (REGION_BASE + offset) | 0;
  }

  /**
   * Check an access of `size` bytes at `(hi:lo) + off` and return its region, leaving
   * the offset inside it in {@link offset}. Faults precisely otherwise.
   */
  resolve(hi: number, lo: number, off: number, size: number, write: boolean, pc: number): Region {
    const r = this.table[hi & ID_MASK];
    // In int32 so V8 keeps it a small integer. It wraps only for low words far outside
    // any region: below REGION_BASE - 2^31 it lands above MAX_REGION_SIZE, above it below 0,
    // so every wrapped offset still fails the bounds check (whose message is then exact).
    const o = (lo - REGION_BASE + off) | 0;
    if (r === undefined || r.hi !== hi) throw this.invalid(hi, lo, off, size, pc);
    if (o < 0 || o + size > r.size) {
      throw this.outside(r, hi, lo, off, size, write, pc);
    }
    if (write && !r.writable && r.context === null) {
      throw new VmFault('read_only', `write of ${size} bytes into read-only ${r.name} at offset ${o}`, pc, address(hi, lo, off), r.name, size);
    }
    this.offset = o;
    return r;
  }

  private outside(r: Region, hi: number, lo: number, off: number, size: number, write: boolean, pc: number): VmFault {
    const o = (lo >>> 0) + off - REGION_BASE;
    return new VmFault('out_of_bounds', `${write ? 'write' : 'read'} of ${size} bytes at offset ${o} is outside ${r.name} (${r.size} bytes)`, pc, address(hi, lo, off), r.name, size);
  }

  private invalid(hi: number, lo: number, off: number, size: number, pc: number): VmFault {
    const addr = address(hi, lo, off);
    const what = hi === 0 && lo === 0 ? 'NULL pointer dereference' : `address 0x${addr.toString(16)} is not in any region`;
    const id = hi & ID_MASK;
    const gen = (hi >>> ID_BITS) & GEN_MASK;
    const used = id > 0 && id < this.generations.length && gen !== 0 && gen <= this.generations[id]!;
    const note = used ? ' (a stale pointer into a released region)' : '';
    return new VmFault('invalid_pointer', `${what}${note}`, pc, addr, 'none', size);
  }

  /** Bytes `[ptr, ptr+size)` if they lie in one live region, for helpers. */
  slice(hi: number, lo: number, size: number, write: boolean, pc: number): Uint8Array {
    const r = this.resolve(hi, lo, 0, size, write, pc);
    if (r.context !== null) throw new VmFault('invalid_helper_call', `a helper may not access the context ${r.name} as raw memory`, pc, address(hi, lo, 0), r.name, size);
    return r.bytes.subarray(this.offset, this.offset + size);
  }
}

/** The 64-bit address `(hi:lo) + off`, for fault reports. */
export function address(hi: number, lo: number, off: number): bigint {
  return BigInt.asUintN(64, ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) + BigInt(off));
}

/** Split an unsigned or signed 64-bit BigInt into halves. */
export function splitBigInt(v: bigint): Pointer {
  const u = BigInt.asUintN(64, v);
  return { lo: Number(u & 0xffffffffn) | 0, hi: Number(u >> 32n) | 0 };
}

/** Join halves into an unsigned 64-bit BigInt. */
export function joinBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
