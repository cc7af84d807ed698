import { copyLoopFusable } from './copy-loop.js';
import { Op } from './internal-ops.js';
import type { DecodedCode } from './program.js';

/**
 * Superinstructions: internal opcodes that run two adjacent instructions in one dispatch
 * of the interpreter loop. Dispatch, not arithmetic, is most of an interpreter's cost, and
 * clang emits a few pairs constantly (pointer + index, loop counter + compare, copy a
 * word, the compare chains of a switch). A fused op sits only in the first slot of its
 * pair; the second keeps its own op, so a jump into it still runs it alone. Each fused op
 * charges both instructions to the budget and reports a fault in the second part at the
 * second slot, so it is indistinguishable from running the pair one by one.
 */
export const Fused = {
  /** `rA = rB; rA += rC` */
  MOV_ADD_X: 0x130,
  /** `rA = rB; rA += imm` */
  MOV_ADD_K: 0x131,
  /** `rA += imm; if rX <op> imm goto` (64-bit add, 64-bit compare with an immediate) */
  ADD_K_JMP_K: 0x132,
  /** `wA += imm; if wX <op> imm goto` (32-bit add and compare) */
  ADD32_K_JMP32_K: 0x133,
  /** `rA = *(u64 *)(rB + o1); *(u64 *)(rC + o2) = rA` */
  COPY_DW: 0x134,
  /** `if wA == imm1 goto T1; if wA == imm2 goto T2` */
  JEQ32_K_JEQ32_K: 0x135,
  /** `wA = imm; goto T` */
  MOV32_K_JA: 0x136,
  /** `rA = imm; goto T` */
  MOV64_K_JA: 0x137,
  /** The eight-instruction u64 copy loop body, iterated in one dispatch (copy-loop.ts). */
  COPY_LOOP_DW: 0x138,
} as const;

/** 64-bit compare-with-immediate jumps a fused loop tail may end with. */
const JMP_K = new Set([0x15, 0x55, 0x25, 0x35, 0xa5, 0xb5]);
/** 32-bit compare-with-immediate jumps a fused 32-bit loop tail may end with. */
const JMP32_K = new Set([0x16, 0x56, 0x26, 0x36, 0xa6, 0xb6]);
const isJmpK = (op: number): boolean => JMP_K.has(op);

/**
 * The interpreter's dispatch words, four per slot: `op | dst << 12 | src << 16` (op being
 * `code.ops` with fused ops in the first slot of each fusable pair), imm, off, and a
 * spare. One array, read at `pc * 4 + k`, instead of one per field: every typed-array
 * read in the interpreter loop costs a bounds check and a base-pointer load.
 */
export function dispatchWords(code: DecodedCode): Int32Array {
  const fused = fuseInstructions(code);
  const words = new Int32Array(fused.length * 4);
  for (let i = 0; i < fused.length; i++) {
    words[i * 4] = fused[i]! | ((code.dst[i]! & 15) << 12) | ((code.src[i]! & 15) << 16);
    words[i * 4 + 1] = code.imm[i]!;
    words[i * 4 + 2] = code.off[i]!;
  }
  return words;
}

/** `code.ops` with fused ops in the first slot of each fusable pair. */
export function fuseInstructions(code: DecodedCode): Uint16Array {
  const { ops, dst, src } = code;
  const out = ops.slice();
  for (let i = 0; i + 1 < code.length; i++) {
    const a = ops[i]!;
    const b = ops[i + 1]!;
    if (copyLoopFusable(code, i, isJmpK)) out[i] = Fused.COPY_LOOP_DW;
    else if (a === 0xbf && b === 0x0f && dst[i + 1] === dst[i]) out[i] = Fused.MOV_ADD_X;
    else if (a === 0xbf && b === 0x07 && dst[i + 1] === dst[i]) out[i] = Fused.MOV_ADD_K;
    else if (a === 0x07 && JMP_K.has(b)) out[i] = Fused.ADD_K_JMP_K;
    else if (a === 0x04 && JMP32_K.has(b)) out[i] = Fused.ADD32_K_JMP32_K;
    else if (a === 0x79 && b === 0x7b && src[i + 1] === dst[i]) out[i] = Fused.COPY_DW;
    else if (a === 0x16 && b === 0x16 && dst[i + 1] === dst[i]) out[i] = Fused.JEQ32_K_JEQ32_K;
    else if (a === 0xb4 && b === Op.JA) out[i] = Fused.MOV32_K_JA;
    else if (a === 0xb7 && b === Op.JA) out[i] = Fused.MOV64_K_JA;
  }
  return out;
}
