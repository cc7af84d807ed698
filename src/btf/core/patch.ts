import type { Instruction } from '../../isa/instruction.js';
import { Class, OP_CALL, OP_LDDW, Size, Source } from '../../isa/opcodes.js';
import type { CoreReloOutcome } from './calc.js';

/** Helper id of libbpf's poison call: 0xbad2310, "bad relo". */
export const POISON_HELPER_ID = 195896080;

/** The invalid call that replaces an unrelocatable instruction (one slot). */
export function poisonInstruction(): Instruction {
  return { code: OP_CALL, dst: 0, src: 0, off: 0, imm: POISON_HELPER_ID };
}

/** Why an instruction could not be patched: libbpf fails the load with this. */
export class CorePatchError extends Error {
  override readonly name = 'CorePatchError';
}

const sizeBytes: Record<number, number> = { [Size.DW]: 8, [Size.W]: 4, [Size.H]: 2, [Size.B]: 1 };
const bytesToSize: Record<number, number> = { 8: Size.DW, 4: Size.W, 2: Size.H, 1: Size.B };

/**
 * bpf_core_patch_insn: apply one outcome to one instruction. Returns the replacement
 * instructions: one, or two poison calls for a poisoned lddw (libbpf poisons both
 * slots so the verifier does not trip over a half instruction).
 */
export function patchInstruction(insn: Instruction, res: CoreReloOutcome): Instruction[] {
  const cls = insn.code & 0x07;
  if (res.poison) return poison(insn);
  const orig = res.origValue;
  const next = res.newValue;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      if ((insn.code & 0x08) !== Source.K) throw new CorePatchError('ALU instruction with a register source cannot be relocated');
      if (res.validate && BigInt.asUintN(64, BigInt(insn.imm)) !== orig) {
        throw new CorePatchError(`unexpected ALU immediate: got ${insn.imm >>> 0}, expected ${orig} -> ${next}`);
      }
      return [{ ...insn, imm: Number(BigInt.asIntN(32, next)) }];
    }
    case Class.LDX:
    case Class.ST:
    case Class.STX: {
      if (res.validate && BigInt(insn.off) !== orig) {
        throw new CorePatchError(`unexpected LDX/ST/STX offset: got ${insn.off}, expected ${orig} -> ${next}`);
      }
      if (next > 32767n) throw new CorePatchError(`LDX/ST/STX offset ${next} does not fit in 16 bits`);
      if (res.failMemSizeAdjust) return poison(insn);
      let code = insn.code;
      if (res.newSize !== res.origSize) {
        const have = sizeBytes[insn.code & 0x18];
        if (have !== res.origSize) throw new CorePatchError(`unexpected memory size: got ${have}, expected ${res.origSize}`);
        const size = bytesToSize[res.newSize];
        if (size === undefined) throw new CorePatchError(`invalid new memory size ${res.newSize}`);
        code = (insn.code & 0xe0) | size | cls;
      }
      return [{ ...insn, code, off: Number(next) }];
    }
    case Class.LD: {
      if (insn.code !== OP_LDDW || insn.src !== 0 || insn.off !== 0) throw new CorePatchError('LD instruction has an unexpected form');
      const imm = (BigInt.asUintN(32, BigInt(insn.imm)) | (BigInt.asUintN(64, BigInt(insn.imm2 ?? 0)) << 32n)) & 0xffffffffffffffffn;
      if (res.validate && imm !== orig) throw new CorePatchError(`unexpected lddw value: got ${imm}, expected ${orig} -> ${next}`);
      const v = BigInt.asUintN(64, next);
      return [{ ...insn, imm: Number(BigInt.asIntN(32, v)), imm2: Number(BigInt.asIntN(32, v >> 32n)) }];
    }
    default:
      throw new CorePatchError(`instruction with opcode 0x${insn.code.toString(16)} cannot be relocated`);
  }
}

function poison(insn: Instruction): Instruction[] {
  return insn.code === OP_LDDW ? [poisonInstruction(), poisonInstruction()] : [poisonInstruction()];
}
