import { AddressSpace, Region, type ContextAccess, type Pointer } from '../memory.js';

/**
 * A context that is plain bytes the program may only read, under its program type's
 * access rules (tracepoint records, raw tracepoint arguments, pt_regs, perf event data).
 * The kernel rewrites these loads into loads from kernel memory of the same layout, so a
 * permitted load reads the bytes as they are (little-endian); a load the kernel's
 * `is_valid_access` refuses, and every store, is an invalid context access. A load past
 * the bytes given is an out-of-bounds fault (the kernel would refuse to attach or
 * test-run a program that reads past its context).
 */
export abstract class ReadOnlyByteContext implements ContextAccess {
  readonly region: Region;
  private readonly view: DataView;

  constructor(
    memory: AddressSpace,
    readonly bytes: Uint8Array,
    name: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.region = memory.add(new Region('context', name, bytes, false, this));
  }

  /** Whether the program type may read `size` bytes at `offset` (its `is_valid_access`). */
  protected abstract allows(offset: number, size: number): boolean;

  get pointer(): Pointer {
    return { lo: AddressSpace.lo(0), hi: this.region.hi };
  }

  load(offset: number, size: number, out: Int32Array): boolean {
    if (!this.allows(offset, size)) return false;
    const v = this.view;
    out[1] = 0;
    if (size === 1) out[0] = v.getUint8(offset);
    else if (size === 2) out[0] = v.getUint16(offset, true);
    else out[0] = v.getInt32(offset, true);
    if (size === 8) out[1] = v.getInt32(offset + 4, true);
    return true;
  }

  store(): boolean {
    return false;
  }
}
