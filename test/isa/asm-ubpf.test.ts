/**
 * The ubpf syntax over random valid instructions: every instruction the syntax can
 * express is rendered here in bpf_conformance's spelling (immediates in decimal or hex,
 * offsets signed) and must assemble back to itself.
 */
import { describe, expect, it } from 'vitest';
import { assemble, insn, instructionOf, isValidInstruction, operationOf, type Instruction, type Operation } from '../../src/isa/index.js';

const SIZE_NAMES = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;

/** The ubpf text of an operation, or undefined when the syntax has none for it. */
function ubpfText(op: Operation, hex: boolean): string | undefined {
  const imm = (v: number) => (hex ? `0x${(v >>> 0).toString(16)}` : `${v}`);
  const off = (v: number) => (v < 0 ? `${v}` : `+${v}`);
  const mem = (reg: number, o: number) => `[%r${reg}${o < 0 ? o : `+${o}`}]`;
  const suffix = (width: 32 | 64) => (width === 32 ? '32' : '');
  switch (op.kind) {
    case 'alu': {
      if (op.op === 'addr_space_cast') return undefined;
      if (op.op === 'neg') return `neg${suffix(op.width)} %r${op.dst}`;
      const src = op.operand.kind === 'reg' ? `%r${op.operand.reg}` : imm(op.operand.value);
      if (op.op === 'movsx') return `movsx${op.extendBits}${op.width} %r${op.dst}, ${src}`;
      return `${op.op}${suffix(op.width)} %r${op.dst}, ${src}`;
    }
    case 'endian':
      return `${op.order === 'swap' ? 'bswap' : op.order}${op.bits} %r${op.dst}`;
    case 'jcond': {
      const src = op.operand.kind === 'reg' ? `%r${op.operand.reg}` : imm(op.operand.value);
      return `j${op.cond}${suffix(op.width)} %r${op.dst}, ${src}, ${off(op.off)}`;
    }
    case 'ja':
      return `${op.long ? 'ja32' : 'ja'} ${off(op.off)}`;
    case 'call':
      if (op.target === 'helper') return `call ${imm(op.imm)}`;
      if (op.target === 'local') return `call local ${off(op.imm)}`;
      return op.btfFdIndex === 0 ? `call runtime ${op.imm}` : undefined;
    case 'callx':
      return `call %r${op.reg}`;
    case 'exit':
      return 'exit';
    case 'lddw':
      if (op.pseudo !== 'imm64') return undefined;
      return `lddw %r${op.dst}, 0x${((BigInt(op.imm2 >>> 0) << 32n) | BigInt(op.imm >>> 0)).toString(16)}`;
    case 'ldabs':
      return `ldabs${SIZE_NAMES[op.size]} ${imm(op.imm)}`;
    case 'ldind':
      return `ldind${SIZE_NAMES[op.size]} %r${op.src}, ${imm(op.imm)}`;
    case 'load':
      return `ldx${op.signed ? 's' : ''}${SIZE_NAMES[op.size]} %r${op.dst}, ${mem(op.src, op.off)}`;
    case 'store_imm':
      return `st${SIZE_NAMES[op.size]} ${mem(op.dst, op.off)}, ${imm(op.imm)}`;
    case 'store':
      return `stx${SIZE_NAMES[op.size]} ${mem(op.dst, op.off)}, %r${op.src}`;
    case 'atomic':
      if (op.op === 'load_acquire' || op.op === 'store_release') return undefined;
      return `lock ${op.fetch && op.op !== 'xchg' && op.op !== 'cmpxchg' ? 'fetch ' : ''}${op.op}${op.size === 4 ? '32' : ''} ${mem(op.dst, op.off)}, %r${op.src}`;
    case 'may_goto':
      return undefined;
  }
}

/** Random instructions: every opcode byte with random fields, kept when valid. */
function randomValid(count: number, seed: number): Instruction[] {
  // mulberry32: every bit is usable (an LCG's low bits cycle quickly).
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const imms = [0, 1, -1, 16, 32, 64, 0x41, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110, 1 << 16, 2147483647, -2147483648];
  // Zero fields are common in valid instructions, so they come up often.
  const pickImm = () => [0, next() | 0, imms[next() % imms.length]!][next() % 3]!;
  const out: Instruction[] = [];
  // Opcode bytes in turn, fields at random: every opcode gets its share of attempts.
  for (let attempt = 0; out.length < count; attempt++) {
    const code = attempt & 0xff;
    const op: Instruction = { code, dst: [0, next() % 11][next() % 2]!, src: [0, 0, 1, 2, next() % 11][next() % 5]!, off: [0, 0, 1, 8, 16, 32, (next() << 16) >> 16][next() % 7]!, imm: pickImm() };
    if (code === 0x18) op.imm2 = next() | 0;
    try {
      out.push(instructionOf(operationOf(op)));
    } catch {
      // invalid: try again
    }
  }
  return out;
}

describe('ubpf syntax over random valid instructions', () => {
  const insns = randomValid(6_000, 0xc0ffee);

  it('with every valid opcode byte among them, and every form over a field grid round-trips', () => {
    const grid: Instruction[] = [];
    const fields = [0, 1].flatMap((dst) => [0, 1, 2].flatMap((src) => [0, 1, 8, 16, 32, -8].map((off) => ({ dst, src, off }))));
    for (let code = 0; code < 256; code++) {
      for (const { dst, src, off } of fields) {
        for (const imm of [0, 1, -1, 16, 32, 64, 0x41, 0xe1, 0xf1, 0x100, 0x110, 1 << 16]) {
          const x = insn(code, dst, src, off, imm, code === 0x18 ? -2 : undefined);
          if (isValidInstruction(x)) grid.push(x);
        }
      }
    }
    const codes = new Set(grid.map((x) => x.code));
    expect(codes.size).toBeGreaterThan(120);
    let checked = 0;
    for (const x of grid) {
      const text = ubpfText(operationOf(x), checked % 2 === 0);
      if (text === undefined) continue;
      expect(assemble(text, { syntax: 'ubpf' }), text).toEqual([x]);
      checked++;
    }
    expect(checked).toBeGreaterThan(5_000);
  });

  for (const hex of [false, true]) {
    it(`round-trips with ${hex ? 'hex' : 'decimal'} immediates`, () => {
      let checked = 0;
      for (const x of insns) {
        const text = ubpfText(operationOf(x), hex);
        if (text === undefined) continue;
        expect(assemble(text, { syntax: 'ubpf' }), text).toEqual([x]);
        checked++;
      }
      expect(checked).toBeGreaterThan(4_500);
    });
  }
});
