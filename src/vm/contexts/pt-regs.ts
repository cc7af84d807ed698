import type { AddressSpace } from '../memory.js';
import { ReadOnlyByteContext } from './read-only-bytes.js';

/** Offsets of x86-64 `struct pt_regs` (the machines' architecture; what PT_REGS_* read). */
export const PtRegs = {
  r15: 0, r14: 8, r13: 16, r12: 24, bp: 32, bx: 40, r11: 48, r10: 56, r9: 64, r8: 72,
  ax: 80, cx: 88, dx: 96, si: 104, di: 112, orig_ax: 120, ip: 128, cs: 136, flags: 144, sp: 152, ss: 160,
} as const;
export type PtReg = keyof typeof PtRegs;
/** sizeof(struct pt_regs) on x86-64. */
export const PT_REGS_SIZE = 168;

/** `struct pt_regs` bytes with the given registers set (the rest zero). */
export function ptRegs(regs: Partial<Record<PtReg, bigint | number>> = {}, size = PT_REGS_SIZE): Uint8Array {
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  for (const [name, value] of Object.entries(regs)) {
    v.setBigUint64(PtRegs[name as PtReg], BigInt.asUintN(64, BigInt(value as bigint | number)), true);
  }
  return out;
}

/**
 * The context of a kprobe (or uprobe) program: the probed task's `struct pt_regs`,
 * read-only. The kernel (`kprobe_prog_is_valid_access`) allows loads of any size aligned
 * to it inside the struct.
 */
export class KprobeContext extends ReadOnlyByteContext {
  constructor(memory: AddressSpace, regs: Uint8Array) {
    if (regs.length !== PT_REGS_SIZE) throw new RangeError(`struct pt_regs is ${PT_REGS_SIZE} bytes, not ${regs.length}`);
    super(memory, regs, 'context (struct pt_regs)');
  }

  protected allows(offset: number, size: number): boolean {
    return offset >= 0 && offset % size === 0 && offset + size <= PT_REGS_SIZE;
  }
}
