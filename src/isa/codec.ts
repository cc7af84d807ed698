import { InstructionError } from './errors.js';
import type { Instruction } from './instruction.js';
import { INSN_SIZE, OP_LDDW } from './opcodes.js';
import { operationOf } from './operation.js';

/** Byte order of an instruction stream. BPF objects say theirs in the ELF header. */
export type Endianness = 'little' | 'big';

export interface DecodeOptions {
  /** Byte order of the stream; default little. */
  endian?: Endianness;
  /**
   * Reject unknown opcodes and reserved fields that are not zero (default true).
   * With false, only the structure is checked (whole slots, complete lddw), as a
   * disassembler of arbitrary bytes wants.
   */
  strict?: boolean;
}

/**
 * Decode an instruction stream. lddw becomes one Instruction with `imm2`.
 *
 * @throws InstructionError naming the slot and byte offset: a length that is not a
 *   multiple of 8, an lddw cut off at the end, an lddw whose second slot has reserved
 *   fields set, and (when strict) any malformed instruction.
 */
export function decodeInstructions(bytes: Uint8Array, options: DecodeOptions = {}): Instruction[] {
  const little = (options.endian ?? 'little') === 'little';
  const strict = options.strict ?? true;
  if (bytes.length % INSN_SIZE !== 0) {
    throw new InstructionError(
      `instruction stream is ${bytes.length} bytes, not a multiple of 8: the last ${bytes.length % INSN_SIZE} bytes are a truncated instruction`,
      Math.floor(bytes.length / INSN_SIZE),
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = bytes.length / INSN_SIZE;
  const out: Instruction[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const at = slot * INSN_SIZE;
    const insn = readSlot(view, at, little);
    if (insn.code === OP_LDDW) {
      if (slot + 1 >= slots) throw new InstructionError('lddw is truncated: its second 8-byte slot is missing', slot);
      const next = readSlot(view, at + INSN_SIZE, little);
      if (next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) {
        throw new InstructionError(
          `lddw's second slot must have opcode, registers and offset 0 (found opcode 0x${next.code.toString(16)}, dst r${next.dst}, src r${next.src}, off ${next.off})`,
          slot + 1,
        );
      }
      insn.imm2 = next.imm;
      slot++;
    }
    if (strict) {
      try {
        operationOf(insn);
      } catch (e) {
        if (e instanceof InstructionError) throw e.at(insn.code === OP_LDDW ? slot - 1 : slot);
        throw e;
      }
    }
    out.push(insn);
  }
  return out;
}

function readSlot(view: DataView, at: number, little: boolean): Instruction {
  const regs = view.getUint8(at + 1);
  return {
    code: view.getUint8(at),
    // Little-endian objects put dst in the low nibble, big-endian ones in the high nibble.
    dst: little ? regs & 0xf : regs >> 4,
    src: little ? regs >> 4 : regs & 0xf,
    off: view.getInt16(at + 2, little),
    imm: view.getInt32(at + 4, little),
  };
}

/** Encode instructions to their wire format (lddw takes two slots). */
export function encodeInstructions(insns: readonly Instruction[], endian: Endianness = 'little'): Uint8Array {
  const little = endian === 'little';
  let slots = 0;
  for (const i of insns) slots += i.code === OP_LDDW ? 2 : 1;
  const out = new Uint8Array(slots * INSN_SIZE);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const i of insns) {
    writeSlot(view, at, little, i.code, i.dst, i.src, i.off, i.imm);
    at += INSN_SIZE;
    if (i.code === OP_LDDW) {
      writeSlot(view, at, little, 0, 0, 0, 0, i.imm2 ?? 0);
      at += INSN_SIZE;
    }
  }
  return out;
}

function writeSlot(view: DataView, at: number, little: boolean, code: number, dst: number, src: number, off: number, imm: number): void {
  view.setUint8(at, code & 0xff);
  view.setUint8(at + 1, little ? ((src & 0xf) << 4) | (dst & 0xf) : ((dst & 0xf) << 4) | (src & 0xf));
  view.setInt16(at + 2, (off << 16) >> 16, little);
  view.setInt32(at + 4, imm | 0, little);
}
