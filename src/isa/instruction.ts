import { OP_LDDW, PseudoLd } from './opcodes.js';

/**
 * One eBPF instruction as it sits in the wire format: an opcode byte, two 4-bit
 * registers, a signed 16-bit offset and a signed 32-bit immediate.
 *
 * `lddw` (the only 16-byte instruction) is one `Instruction` that fills two slots: the
 * second slot's immediate is `imm2` (the upper 32 bits of the constant, or the offset
 * into a map value for the map-value pseudo sources). Every other field of the second
 * slot is reserved and zero.
 *
 * Jump and call offsets count 8-byte slots, as in the kernel, so a program's slot index
 * (not its array index) is what jumps refer to. {@link slotCount} converts.
 */
export interface Instruction {
  /** Opcode byte (class, and op/source or mode/size). */
  code: number;
  /** Destination register, 0-15 (only 0-10 are valid registers). */
  dst: number;
  /** Source register, 0-15; also the pseudo source of lddw and the call kind. */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
  /** lddw only: the second slot's signed 32-bit immediate. */
  imm2?: number;
}

/** Does this instruction take two slots (lddw)? */
export function isWide(insn: Instruction): boolean {
  return insn.code === OP_LDDW;
}

/** Number of 8-byte slots this instruction occupies. */
export function insnSlots(insn: Instruction): 1 | 2 {
  return insn.code === OP_LDDW ? 2 : 1;
}

/** Total slots taken by a list of instructions. */
export function slotCount(insns: readonly Instruction[]): number {
  let n = 0;
  for (const i of insns) n += insnSlots(i);
  return n;
}

/**
 * Slot index of each instruction: `result[i]` is where `insns[i]` starts; the final
 * element is the total slot count.
 */
export function slotOffsets(insns: readonly Instruction[]): number[] {
  const out = new Array<number>(insns.length + 1);
  let n = 0;
  for (let i = 0; i < insns.length; i++) {
    out[i] = n;
    n += insnSlots(insns[i]!);
  }
  out[insns.length] = n;
  return out;
}

/** Build an Instruction; fields default to 0 and are normalised to their wire widths. */
export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0, imm2?: number): Instruction {
  const i: Instruction = { code: code & 0xff, dst: dst & 0xf, src: src & 0xf, off: (off << 16) >> 16, imm: imm | 0 };
  if ((code & 0xff) === OP_LDDW) i.imm2 = (imm2 ?? 0) | 0;
  return i;
}

/** The 64-bit constant of an lddw as a BigInt (imm2:imm). */
export function lddwValue(insn: Instruction): bigint {
  return (BigInt.asUintN(32, BigInt(insn.imm2 ?? 0)) << 32n) | BigInt.asUintN(32, BigInt(insn.imm));
}

/** Split a 64-bit constant into the two signed 32-bit halves lddw holds. */
export function splitImm64(value: bigint): { imm: number; imm2: number } {
  const v = BigInt.asUintN(64, value);
  return { imm: Number(BigInt.asIntN(32, v & 0xffffffffn)), imm2: Number(BigInt.asIntN(32, v >> 32n)) };
}

/** Are two instructions identical field for field? */
export function insnEquals(a: Instruction, b: Instruction): boolean {
  return (
    a.code === b.code &&
    a.dst === b.dst &&
    a.src === b.src &&
    a.off === b.off &&
    a.imm === b.imm &&
    (a.code !== OP_LDDW || (a.imm2 ?? 0) === (b.imm2 ?? 0))
  );
}

/** Each instruction by the slot it starts at (the second slot of an lddw is not a key). */
export function instructionsBySlot<T extends Instruction>(insns: readonly T[]): Map<number, T> {
  const out = new Map<number, T>();
  let slot = 0;
  for (const i of insns) {
    out.set(slot, i);
    slot += insnSlots(i);
  }
  return out;
}

/**
 * Make an lddw load a map: its fd (pseudo MAP_FD) or, with `valueOffset`, the address
 * of its value at that offset (pseudo MAP_VALUE). Both loaders patch map references so.
 */
export function pointLddwAtMap(insn: Instruction, fd: number, valueOffset?: number): void {
  insn.src = valueOffset === undefined ? PseudoLd.MAP_FD : PseudoLd.MAP_VALUE;
  insn.imm = fd;
  insn.imm2 = valueOffset ?? 0;
}
