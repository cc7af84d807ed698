import { describe, expect, it } from 'vitest';
import { decodeInstructions, encodeInstructions, InstructionError, insn, OP_LDDW, operationOf, ProgramBuilder, R0, R1, reg } from '../../src/isa/index.js';

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.trim().split(/\s+/).map((h) => parseInt(h, 16)));
}

describe('decodeInstructions', () => {
  it('decodes little-endian fields', () => {
    const [i] = decodeInstructions(bytes('61 21 14 00 00 00 00 00'));
    expect(i).toEqual({ code: 0x61, dst: 1, src: 2, off: 20, imm: 0 });
    expect(operationOf(i!)).toEqual({ kind: 'load', size: 4, signed: false, dst: 1, src: 2, off: 20 });
  });

  it('decodes big-endian objects: dst in the high nibble, fields big-endian', () => {
    const [i] = decodeInstructions(bytes('61 12 00 14 00 00 00 00'), { endian: 'big' });
    expect(i).toEqual({ code: 0x61, dst: 1, src: 2, off: 20, imm: 0 });
  });

  it('joins lddw into one instruction with imm2', () => {
    const insns = decodeInstructions(bytes('18 01 00 00 f0 de bc 9a 00 00 00 00 78 56 34 12 95 00 00 00 00 00 00 00'));
    expect(insns).toHaveLength(2);
    expect(insns[0]).toEqual({ code: OP_LDDW, dst: 1, src: 0, off: 0, imm: 0x9abcdef0 | 0, imm2: 0x12345678 });
  });

  it('names the slot of a truncated lddw', () => {
    expect(() => decodeInstructions(bytes('b7 00 00 00 00 00 00 00 18 01 00 00 01 00 00 00'))).toThrow(/instruction 1 .*lddw is truncated/);
  });

  it('rejects a length that is not a multiple of 8', () => {
    expect(() => decodeInstructions(bytes('95 00 00 00 00 00 00 00 95 00'))).toThrow(InstructionError);
  });

  it('rejects reserved fields and unknown opcodes with the offset', () => {
    // add64 r0, 1 with off=1 (bpf_conformance unused-add64_imm-offset)
    expect(() => decodeInstructions(bytes('07 00 01 00 01 00 00 00'))).toThrow(/instruction 0 \(byte offset 0\).*reserved/);
    expect(() => decodeInstructions(bytes('95 00 00 00 00 00 00 00 ff 00 00 00 00 00 00 00'))).toThrow(/instruction 1 \(byte offset 8\).*unknown/);
    // exit with dst set
    expect(() => decodeInstructions(bytes('95 01 00 00 00 00 00 00'))).toThrow(/exit uses reserved fields/);
  });

  it('accepts reserved fields when not strict', () => {
    expect(decodeInstructions(bytes('95 01 00 00 00 00 00 00'), { strict: false })).toHaveLength(1);
  });
});

describe('encodeInstructions', () => {
  it('round-trips both byte orders', () => {
    const prog = [insn(0xb7, 1, 0, 0, -5), insn(OP_LDDW, 2, 1, 0, 7, 9), insn(0x6b, 10, 3, -8), insn(0x95)];
    for (const endian of ['little', 'big'] as const) {
      expect(decodeInstructions(encodeInstructions(prog, endian), { endian })).toEqual(prog);
    }
  });
});

describe('ProgramBuilder', () => {
  it('resolves labels to slot offsets, counting lddw as two slots', () => {
    const prog = new ProgramBuilder()
      .mov64(R0, 0)
      .label('loop')
      .lddw(R1, 1n << 40n)
      .alu64('add', R0, reg(R1))
      .jump('lt', R0, 10, 'loop')
      .goto('end')
      .mov64(R0, 1)
      .label('end')
      .exit()
      .build();
    expect(prog[3]!.off).toBe(-4);
    expect(prog[4]!.off).toBe(1);
  });

  it('rejects undefined labels and impossible operations', () => {
    expect(() => new ProgramBuilder().goto('nowhere').build()).toThrow(/undefined label "nowhere"/);
    expect(() => new ProgramBuilder().load(8, R0, R1, 0, true)).toThrow(/no sign-extending 8-byte load/);
  });
});
