/**
 * The llvm syntax against the real llvm-objdump-19, for every valid opcode form: the
 * instruction stream below is generated (all 256 opcode bytes crossed with register,
 * offset and immediate values chosen to hit every field rule), wrapped in an object by
 * llvm-mc-19, disassembled by llvm-objdump-19, and compared line for line with ours.
 */
import { describe, expect, it } from 'vitest';
import { disassemble, encodeInstructions, insn, isValidInstruction, operationOf, type Instruction } from '../../src/isa/index.js';
import { haveLlvm19, normalize, objdumpRawBytes } from './disasm-support.js';

const DSTS = [0, 1, 10];
const SRCS = [0, 2, 10];
const OFFS = [0, 1, 3, -8, 8, 16, 32, 32767, -32768];
const IMMS = [0, 1, -1, 4, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110, 1 << 16, 2147483647, -2147483648];

/** Every valid instruction over the field values above, plus lddw of every pseudo source. */
function validForms(): Instruction[] {
  const out: Instruction[] = [];
  for (let code = 0; code < 256; code++) {
    if (code === 0x18) continue;
    for (const dst of DSTS)
      for (const src of SRCS)
        for (const off of OFFS)
          for (const imm of IMMS) {
            const i = insn(code, dst, src, off, imm);
            if (isValidInstruction(i)) out.push(i);
          }
  }
  for (let src = 0; src <= 6; src++)
    for (const [imm, imm2] of [
      [0, 0],
      [-1, -1],
      [-1, 0],
      [5, -2147483648],
      [0x12345678, 0x0abcdef0],
    ] as const)
      out.push(insn(0x18, 1, src, 0, imm, imm2));
  return out;
}

/** Ordering atomics, which llvm-objdump 19 cannot print: the llvm syntax follows LLVM 21 there. */
function isOrderingAtomic(i: Instruction): boolean {
  const op = operationOf(i);
  return op.kind === 'atomic' && (op.op === 'load_acquire' || op.op === 'store_release');
}

describe.skipIf(!haveLlvm19())('llvm syntax equals llvm-objdump-19', () => {
  const forms = validForms();
  const symbols = new Map([[0, 'f']]);

  for (const alu32 of [false, true]) {
    it(`every valid opcode form (${forms.length} instructions)${alu32 ? ' with --mattr=+alu32' : ''}`, () => {
      const expected = objdumpRawBytes(encodeInstructions(forms), { alu32 });
      const ours = disassemble(forms, { syntax: 'llvm', symbols, alu32 });
      const mismatches: string[] = [];
      let slot = 0;
      let compared = 0;
      forms.forEach((f, n) => {
        const theirs = expected.get(slot);
        if (!isOrderingAtomic(f)) {
          compared++;
          if (theirs === undefined || normalize(theirs) !== normalize(ours[n]!)) {
            mismatches.push(`${JSON.stringify(f)}: llvm-objdump "${theirs}" ours "${ours[n]}"`);
          }
        }
        slot += f.code === 0x18 ? 2 : 1;
      });
      expect(mismatches.slice(0, 20)).toEqual([]);
      expect(compared).toBeGreaterThan(1000);
    });
  }
});
