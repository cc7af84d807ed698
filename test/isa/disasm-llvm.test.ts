/**
 * The llvm syntax against the real llvm-objdump-19, for every valid opcode form: the
 * instruction stream below is generated (all 256 opcode bytes crossed with register,
 * offset and immediate values chosen to hit every field rule), wrapped in an object by
 * llvm-mc-19, disassembled by llvm-objdump-19, and compared line for line with ours.
 */
import { describe, expect, it } from 'vitest';
import { assemble, disassemble, encodeInstructions, insn, isValidInstruction, operationOf, type Instruction } from '../../src/isa/index.js';
import { haveLlvm19, normalize, objdumpRawBytes } from './disasm-support.js';

const DSTS = [0, 1, 10];
const SRCS = [0, 2, 10];
const OFFS = [0, 1, 3, -8, 8, 16, 32, 32767, -32768];
const IMMS = [0, 1, -1, 4, 16, 32, 64, 1 << 16, 2147483647, -2147483648];
/** STX immediates: every atomic operation code (and a few that are none). */
const ATOMIC_IMMS = [0, 1, 4, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110, 0x120];

let formsCache: Instruction[] | undefined;

/** Every valid instruction over the field values above, plus lddw of every pseudo source. */
function validForms(): Instruction[] {
  return (formsCache ??= generateValidForms());
}

function generateValidForms(): Instruction[] {
  const out: Instruction[] = [];
  // Most candidates are invalid and throw: without stack traces that is several times faster.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  for (let code = 0; code < 256; code++) {
    if (code === 0x18) continue;
    for (const dst of DSTS)
      for (const src of SRCS)
        for (const off of OFFS)
          for (const imm of (code & 7) === 3 ? ATOMIC_IMMS : IMMS) {
            const i = insn(code, dst, src, off, imm);
            if (isValidInstruction(i)) out.push(i);
          }
  }
  Error.stackTraceLimit = stackTraceLimit;
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

describe('bpfkit syntax over every valid opcode form', () => {
  const forms = validForms();

  it('differs from the llvm syntax only where docs/assembly-syntax.md says it does', () => {
    const llvm = disassemble(forms, { syntax: 'llvm' });
    const ours = disassemble(forms, { syntax: 'bpfkit', invalid: 'mark' });
    const differing = new Set<string>();
    forms.forEach((f, n) => {
      if (llvm[n] === ours[n]) return;
      const op = operationOf(f);
      differing.add(op.kind === 'atomic' ? `atomic${op.size * 8}` : op.kind === 'lddw' ? `lddw ${op.pseudo}` : op.kind);
    });
    expect([...differing].sort()).toEqual(
      ['atomic32', 'call', 'ldind', 'lddw btf_id', 'lddw func', 'lddw imm64', 'lddw map_fd', 'lddw map_idx', 'lddw map_idx_value', 'lddw map_value'].sort(),
    );
  });

  it('assembles back to the same instructions', () => {
    // lddw pseudo sources without a second immediate have no text for a nonzero one.
    const printable = forms.filter((f) => f.code !== 0x18 || f.src === 0 || f.src === 2 || f.src === 6 || f.imm2 === 0);
    expect(assemble(disassemble(printable).join('\n'))).toEqual(printable);
  });
});
