/**
 * Unit tests of the disassembler: bpfkit's syntax (docs/assembly-syntax.md) for every
 * form where it differs from llvm's, the llvm syntax's quirks (each text below was
 * printed by llvm-objdump-19; the full per-opcode comparison is disasm-llvm.test.ts),
 * jump annotations, and bad input.
 */
import { describe, expect, it } from 'vitest';
import {
  InstructionError,
  disassemble,
  disassembleBytes,
  disassembleInstructions,
  encodeInstructions,
  formatInstruction,
  insn,
  type Instruction,
} from '../../src/isa/index.js';

const bpfkit = (i: Instruction) => formatInstruction(i, { syntax: 'bpfkit' });
const llvm = (i: Instruction, alu32 = false) => formatInstruction(i, { syntax: 'llvm', alu32 });

/** The error thrown by `fn`, which must throw. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('bpfkit syntax', () => {
  it('names helper calls and tells local, kfunc and register calls apart', () => {
    expect(bpfkit(insn(0x85, 0, 0, 0, 1))).toBe('call bpf_map_lookup_elem#1');
    expect(bpfkit(insn(0x85, 0, 0, 0, 211))).toBe('call bpf_cgrp_storage_delete#211');
    expect(bpfkit(insn(0x85, 0, 0, 0, 999))).toBe('call helper#999');
    expect(bpfkit(insn(0x85, 0, 0, 0, 0))).toBe('call helper#0');
    expect(bpfkit(insn(0x85, 0, 1, 0, 5))).toBe('call local +5');
    expect(bpfkit(insn(0x85, 0, 1, 0, -3))).toBe('call local -3');
    expect(bpfkit(insn(0x85, 0, 2, 0, 12345))).toBe('call kfunc 12345');
    expect(bpfkit(insn(0x85, 0, 2, 2, 12345))).toBe('call kfunc 12345 btf_fd 2');
    expect(bpfkit(insn(0x8d, 2))).toBe('callx r2');
  });

  it('annotates local calls with the callee symbol', () => {
    const symbols = new Map([
      [0, 'main'],
      [4, 'sub'],
    ]);
    const text = disassemble([insn(0x85, 0, 1, 0, 3), insn(0xb7), insn(0x95), insn(0xb7), insn(0x95)], { symbols });
    expect(text[0]).toBe('call local +3 <sub>');
  });

  it('names what calls and lddw refer to when known from elsewhere (relocations)', () => {
    const insns = [insn(0x85, 0, 1, 0, -1), insn(0x18, 1, 0, 0, 0, 0), insn(0x85, 0, 2, 0, -1), insn(0x95)];
    const references = new Map([
      [0, 'global_fn'],
      [1, 'counts'],
      [3, 'bpf_rcu_read_lock'],
    ]);
    expect(disassemble(insns, { references, symbols: new Map([[0, 'f']]) })).toEqual([
      'call local -1 <global_fn>',
      'r1 = 0 ll <counts>',
      'call kfunc -1 <bpf_rcu_read_lock>',
      'exit',
    ]);
    expect(disassemble(insns, { syntax: 'llvm', references })).toEqual(['call -1', 'r1 = 0 ll', 'call -1', 'exit']);
  });

  it('names every lddw pseudo source and prints plain constants unsigned', () => {
    expect(bpfkit(insn(0x18, 1, 0, 0, -1, -1))).toBe('r1 = 18446744073709551615 ll');
    expect(bpfkit(insn(0x18, 1, 0, 0, 0x89abcdef, 0x01234567))).toBe('r1 = 81985529216486895 ll');
    expect(bpfkit(insn(0x18, 2, 1, 0, 5))).toBe('r2 = map_fd(5) ll');
    expect(bpfkit(insn(0x18, 2, 2, 0, 5, 16))).toBe('r2 = map_value(5, 16) ll');
    expect(bpfkit(insn(0x18, 3, 3, 0, 123))).toBe('r3 = btf_id(123) ll');
    expect(bpfkit(insn(0x18, 4, 4, 0, 3))).toBe('r4 = func(+3) ll');
    expect(bpfkit(insn(0x18, 4, 4, 0, -7))).toBe('r4 = func(-7) ll');
    expect(bpfkit(insn(0x18, 5, 5, 0, 0))).toBe('r5 = map_idx(0) ll');
    expect(bpfkit(insn(0x18, 6, 6, 0, 1, 8))).toBe('r6 = map_idx_value(1, 8) ll');
  });

  it('keeps the offset of legacy indirect packet loads', () => {
    expect(bpfkit(insn(0x30, 0, 0, 0, 10))).toBe('r0 = *(u8 *)skb[10]');
    expect(bpfkit(insn(0x48, 0, 1, 0, 10))).toBe('r0 = *(u16 *)skb[r1 + 10]');
    expect(bpfkit(insn(0x40, 0, 7, 0, -4))).toBe('r0 = *(u32 *)skb[r7 - 4]');
    expect(bpfkit(insn(0x50, 0, 1, 0, 0))).toBe('r0 = *(u8 *)skb[r1 + 0]');
  });

  it('prints every 32-bit atomic in full, with w registers', () => {
    expect(bpfkit(insn(0xc3, 1, 2, -8, 0x00))).toBe('lock *(u32 *)(r1 - 8) += w2');
    expect(bpfkit(insn(0xc3, 1, 2, -8, 0x01))).toBe('w2 = atomic_fetch_add((u32 *)(r1 - 8), w2)');
    expect(bpfkit(insn(0xc3, 1, 2, 0, 0x40))).toBe('lock *(u32 *)(r1 + 0) |= w2');
    expect(bpfkit(insn(0xc3, 1, 2, 0, 0x51))).toBe('w2 = atomic_fetch_and((u32 *)(r1 + 0), w2)');
    expect(bpfkit(insn(0xc3, 1, 2, 0, 0xe1))).toBe('w2 = xchg32_32(r1 + 0, w2)');
    expect(bpfkit(insn(0xc3, 1, 2, 0, 0xf1))).toBe('w0 = cmpxchg32_32(r1 + 0, w0, w2)');
    expect(bpfkit(insn(0xdb, 1, 2, 0, 0xa1))).toBe('r2 = atomic_fetch_xor((u64 *)(r1 + 0), r2)');
    expect(bpfkit(insn(0xdb, 1, 2, 0, 0xf1))).toBe('r0 = cmpxchg_64(r1 + 0, r0, r2)');
  });

  it('prints load-acquire and store-release in LLVM 21 form', () => {
    // load-acquire reads from src + off into dst.
    expect(bpfkit(insn(0xdb, 0, 1, 0, 0x100))).toBe('r0 = load_acquire((u64 *)(r1 + 0))');
    expect(bpfkit(insn(0xc3, 3, 1, 4, 0x100))).toBe('w3 = load_acquire((u32 *)(r1 + 4))');
    expect(bpfkit(insn(0xd3, 3, 1, 4, 0x100))).toBe('w3 = load_acquire((u8 *)(r1 + 4))');
    expect(bpfkit(insn(0xdb, 1, 2, 0, 0x110))).toBe('store_release((u64 *)(r1 + 0), r2)');
    expect(bpfkit(insn(0xcb, 1, 2, -2, 0x110))).toBe('store_release((u16 *)(r1 - 2), w2)');
    expect(llvm(insn(0xdb, 0, 1, 0, 0x100))).toBe('r0 = load_acquire((u64 *)(r1 + 0))');
    expect(llvm(insn(0xdb, 1, 2, 0, 0x110))).toBe('store_release((u64 *)(r1 + 0), r2)');
  });

  it('prints everything else as the llvm syntax does', () => {
    const same = [
      insn(0x61, 0, 1, 20),
      insn(0x91, 0, 1, -1),
      insn(0x0c, 0, 1),
      insn(0x07, 1, 0, 0, -1),
      insn(0xbf, 0, 1, 8),
      insn(0xbc, 0, 1, 16),
      insn(0x3f, 1, 2, 1),
      insn(0x97, 1, 0, 1, 7),
      insn(0xd7, 0, 0, 0, 16),
      insn(0xdc, 0, 0, 0, 32),
      insn(0xd4, 0, 0, 0, 64),
      insn(0x55, 2, 0, 22, 2),
      insn(0x3e, 2, 3, -4),
      insn(0x06, 0, 0, 0, 70000),
      insn(0xe5, 0, 0, 5),
      insn(0xbf, 1, 2, 1, 1),
      insn(0x7a, 10, 0, -8, -1),
      insn(0x95),
    ];
    for (const i of same) expect(bpfkit(i)).toBe(llvm(i));
    expect(bpfkit(insn(0xe5, 0, 0, 5))).toBe('may_goto +5');
    expect(bpfkit(insn(0x06, 0, 0, 0, -70000))).toBe('gotol -70000');
  });
});

describe('llvm syntax quirks (texts measured with llvm-objdump-19)', () => {
  it('prints every call as call IMM', () => {
    expect(llvm(insn(0x85, 0, 0, 0, 1))).toBe('call 1');
    expect(llvm(insn(0x85, 0, 1, 0, -1))).toBe('call -1');
    expect(llvm(insn(0x85, 0, 2, 3, 1234))).toBe('call 1234');
    expect(llvm(insn(0x8d, 1))).toBe('callx r1');
  });

  it('prints lddw signed, and pseudo sources as ld_pseudo with the first immediate unsigned', () => {
    expect(llvm(insn(0x18, 1, 0, 0, -1, -1))).toBe('r1 = -1 ll');
    expect(llvm(insn(0x18, 1, 0, 0, -1, 0))).toBe('r1 = 4294967295 ll');
    expect(llvm(insn(0x18, 1, 0, 0, 5, -2147483648))).toBe('r1 = -9223372036854775803 ll');
    expect(llvm(insn(0x18, 1, 1, 0, -1, 7))).toBe('ld_pseudo r1, 1, 4294967295');
  });

  it('drops the immediate of an indirect packet load', () => {
    expect(llvm(insn(0x40, 0, 2, 0, 7))).toBe('r0 = *(u32 *)skb[r2]');
    expect(llvm(insn(0x20, 0, 0, 0, -1))).toBe('r0 = *(u32 *)skb[-1]');
  });

  it('without alu32 prints 32-bit loads with r registers and 32-bit atomics as llvm-objdump 19 does', () => {
    expect(llvm(insn(0x61, 1, 2, -8))).toBe('r1 = *(u32 *)(r2 - 8)');
    expect(llvm(insn(0x61, 1, 2, -8), true)).toBe('w1 = *(u32 *)(r2 - 8)');
    expect(llvm(insn(0x63, 1, 2, 3))).toBe('*(u32 *)(r1 + 3) = r2');
    expect(llvm(insn(0x63, 1, 2, 3), true)).toBe('*(u32 *)(r1 + 3) = w2');
    // llvm-objdump 19 prints a 32-bit fetch-add like a plain add, and has no text for the others.
    expect(llvm(insn(0xc3, 1, 2, -8, 0x01))).toBe('lock *(u32 *)(r1 - 8) += r2');
    expect(llvm(insn(0xc3, 1, 2, -8, 0x01), true)).toBe('w2 = atomic_fetch_add((u32 *)(r1 - 8), w2)');
    expect(llvm(insn(0xc3, 1, 2, -8, 0x40))).toBe('<unknown>');
    expect(llvm(insn(0xc3, 1, 2, -8, 0xf1))).toBe('<unknown>');
  });
});

describe('jump annotations', () => {
  const program = [insn(0x05, 0, 0, 1), insn(0xb7), insn(0x15, 1, 0, -3, 0), insn(0x95)];

  it('names the target symbol, or the nearest one before it with the byte distance', () => {
    expect(disassemble(program, { syntax: 'llvm', symbols: new Map([[0, 'f'], [2, 'LBB0_2']]) })).toEqual([
      'goto +1 <LBB0_2>',
      'r0 = 0',
      'if r1 == 0 goto -3 <f>',
      'exit',
    ]);
    expect(disassemble(program, { syntax: 'llvm', symbols: new Map([[0, 'f']]) })[0]).toBe('goto +1 <f+0x10>');
  });

  it('wraps targets before the section start around 64 bits, as llvm-objdump does', () => {
    const back = [insn(0x05, 0, 0, -3)];
    expect(disassemble(back, { syntax: 'llvm', symbols: new Map([[0, 'f']]) })).toEqual(['goto -3 <f+0xfffffffffffffff0>']);
  });

  it('uses the section name where no symbol is at offset 0, and nothing without symbols', () => {
    expect(disassemble(program, { syntax: 'llvm', sectionName: '.text' })[0]).toBe('goto +1 <.text+0x10>');
    expect(disassemble(program, { syntax: 'llvm', sectionName: 'sec', symbols: new Map([[2, 'x']]) })[2]).toBe('if r1 == 0 goto -3 <sec>');
    expect(disassemble(program, { syntax: 'llvm' })[0]).toBe('goto +1');
  });

  it('counts slots, so an lddw moves later instructions by two', () => {
    const lines = disassembleInstructions([insn(0x18, 1, 0, 0, 1, 0), insn(0x05, 0, 0, 0), insn(0x95)], {
      syntax: 'llvm',
      symbols: new Map([[3, 'end']]),
    });
    expect(lines.map((l) => l.slot)).toEqual([0, 2, 3]);
    expect(lines[1]!.text).toBe('goto +0 <end>');
  });
});

describe('bad input', () => {
  it('rejects an unknown opcode, naming slot, byte offset and opcode', () => {
    const e = thrown(() => disassemble([insn(0xb7), insn(0x18, 1, 0, 0, 0, 0), insn(0xff, 1, 2, 3, 4)]));
    expect(e).toBeInstanceOf(InstructionError);
    expect((e as InstructionError).slot).toBe(3);
    expect(e.message).toMatch(/^instruction 3 \(byte offset 24\): unknown/);
    expect(e.message).toContain('0xff');
  });

  it('rejects reserved fields that are set and registers above r10', () => {
    expect(thrown(() => disassemble([insn(0x95, 0, 0, 0, 1)])).message).toMatch(/instruction 0 .*exit uses reserved fields/);
    expect(thrown(() => disassemble([insn(0x0f, 1, 2, 0, 5)])).message).toMatch(/reserved fields: imm/);
    expect(thrown(() => disassemble([insn(0xb7, 11)])).message).toMatch(/invalid destination register r11/);
    expect(thrown(() => disassemble([insn(0xbc, 1, 2, 32)], { syntax: 'llvm' })).message).toMatch(/sign-extension width off=32/);
  });

  it('rejects an lddw whose pseudo source cannot carry a second immediate (bpfkit syntax)', () => {
    const e = thrown(() => disassemble([insn(0xb7), insn(0x18, 1, 1, 0, 5, 7)]));
    expect(e).toBeInstanceOf(InstructionError);
    expect(e.message).toMatch(/^instruction 1 \(byte offset 8\): lddw map_fd uses reserved fields/);
  });

  it('names the offset of a truncated lddw and of a stream cut mid-instruction', () => {
    const bytes = encodeInstructions([insn(0xb7), insn(0x18, 1, 0, 0, 1, 2)]);
    const e = thrown(() => disassembleBytes(bytes.subarray(0, 16)));
    expect(e).toBeInstanceOf(InstructionError);
    expect(e.message).toMatch(/instruction 1 \(byte offset 8\): lddw is truncated/);
    expect(thrown(() => disassembleBytes(bytes.subarray(0, 13))).message).toMatch(/byte offset 8\).*not a multiple of 8/);
  });

  it('names the offset of an lddw whose second slot is not a continuation', () => {
    const bytes = encodeInstructions([insn(0x18, 1, 0, 0, 1, 2)]);
    bytes[8] = 0x95;
    expect(thrown(() => disassembleBytes(bytes)).message).toMatch(/instruction 1 \(byte offset 8\): lddw's second slot/);
  });

  it('marks malformed instructions explicitly when asked to keep going', () => {
    const insns = [insn(0xff, 1, 2, 3, 4), insn(0x95), insn(0x18, 1, 1, 0, 5, 7)];
    const marked = disassembleInstructions(insns, { invalid: 'mark' });
    expect(marked[0]!.text).toMatch(/^\.insn code=0xff dst=1 src=2 off=3 imm=4 ; unknown/);
    expect(marked[0]!.error).toBeInstanceOf(InstructionError);
    expect(marked[1]!.text).toBe('exit');
    expect(marked[1]!.error).toBeUndefined();
    expect(marked[2]!.text).toMatch(/^\.insn code=0x18 dst=1 src=1 off=0 imm=5 imm2=7 ; lddw map_fd/);
    expect(disassemble(insns, { syntax: 'llvm', invalid: 'mark' })).toEqual(['<unknown>', 'exit', 'ld_pseudo r1, 1, 5']);
  });

  it('never fails on random bytes with anything but a located InstructionError', () => {
    let seed = 0x5eed;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    let thrownCount = 0;
    let marked = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes = Uint8Array.from({ length: 8 * (1 + (n % 6)) + (n % 17 === 0 ? 3 : 0) }, random);
      // Bias towards real opcodes and lddw so that valid forms are common too.
      if (n % 3 === 0) bytes[0] = [0x18, 0x85, 0xc3, 0xdb, 0x61, 0x07, 0x15][n % 7]!;
      for (const syntax of ['llvm', 'bpfkit'] as const) {
        try {
          const lines = disassembleBytes(bytes, { syntax, invalid: n % 2 === 0 ? 'mark' : 'throw' });
          marked += lines.filter((l) => l.error !== undefined).length;
          for (const l of lines) expect(typeof l.text).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(InstructionError);
          expect((e as InstructionError).slot).toBeTypeOf('number');
          expect((e as Error).message).toMatch(/^instruction \d+ \(byte offset \d+\): /);
          thrownCount++;
        }
      }
    }
    expect(thrownCount).toBeGreaterThan(0);
    expect(marked).toBeGreaterThan(0);
  });

  it('decodes big-endian streams', () => {
    const insns = [insn(0x61, 1, 2, 20), insn(0x18, 3, 0, 0, 1, 2), insn(0x95)];
    const lines = disassembleBytes(encodeInstructions(insns, 'big'), { endian: 'big', syntax: 'llvm' });
    expect(lines.map((l) => l.text)).toEqual(['r1 = *(u32 *)(r2 + 20)', 'r3 = 8589934593 ll', 'exit']);
  });
});
