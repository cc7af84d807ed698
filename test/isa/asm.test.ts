import { describe, expect, it } from 'vitest';
import { assemble, AssemblyError, encodeInstructions, insn, type AsmSyntax, type Instruction } from '../../src/isa/index.js';
import { helperId } from '../../src/uapi/helpers.js';

/** The little-endian bytes of one assembled line, as hex pairs. */
function bytesOf(line: string, syntax: AsmSyntax = 'bpfkit'): string {
  return [...encodeInstructions(assemble(line, { syntax }))].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function one(line: string, syntax: AsmSyntax = 'bpfkit'): Instruction {
  const out = assemble(line, { syntax });
  expect(out).toHaveLength(1);
  return out[0]!;
}

function errorOf(source: string, syntax: AsmSyntax = 'bpfkit'): AssemblyError {
  try {
    assemble(source, { syntax });
  } catch (e) {
    if (e instanceof AssemblyError) return e;
    throw new Error(`expected an AssemblyError, got ${String(e)}`);
  }
  throw new Error(`"${source}" assembled, but should not`);
}

// Encodings below were checked with `llvm-mc-19 -triple=bpfel -mcpu=v4 -show-encoding`.
describe('llvm syntax (also valid bpfkit syntax)', () => {
  const cases: [string, string][] = [
    ['r0 = *(u32 *)(r1 + 20)', '61 10 14 00 00 00 00 00'],
    ['w0 += w1', '0c 10 00 00 00 00 00 00'],
    ['if r2 != 2 goto +22 <LBB0_3>', '55 02 16 00 02 00 00 00'],
    ['if w1 s< 5 goto +3', 'c6 01 03 00 05 00 00 00'],
    ['if r1 & r2 goto -1', '4d 21 ff ff 00 00 00 00'],
    ['r1 = 0 ll', '18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00'],
    ['r1 = -1 ll', '18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff'],
    ['r1 = 18446744073709551615 ll', '18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff'],
    ['lock *(u64 *)(r1 + 0) += r2', 'db 21 00 00 00 00 00 00'],
    ['lock *(u32 *)(r1 + 0) += w2', 'c3 21 00 00 00 00 00 00'],
    ['lock *(u64 *)(r1 - 8) ^= r2', 'db 21 f8 ff a0 00 00 00'],
    ['r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)', 'db 21 00 00 01 00 00 00'],
    ['w2 = atomic_fetch_add((u32 *)(r1 + 0), w2)', 'c3 21 00 00 01 00 00 00'],
    ['r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)', 'db 21 00 00 41 00 00 00'],
    ['r0 = cmpxchg_64(r1 + 0, r0, r2)', 'db 21 00 00 f1 00 00 00'],
    ['w0 = cmpxchg32_32(r1 + 0, w0, w2)', 'c3 21 00 00 f1 00 00 00'],
    ['r2 = xchg_64(r1 + 0, r2)', 'db 21 00 00 e1 00 00 00'],
    ['w2 = xchg32_32(r1 + 4, w2)', 'c3 21 04 00 e1 00 00 00'],
    ['r0 = (s8)r1', 'bf 10 08 00 00 00 00 00'],
    ['w0 = (s16)w1', 'bc 10 10 00 00 00 00 00'],
    ['r0 = bswap16 r0', 'd7 00 00 00 10 00 00 00'],
    ['r0 = be16 r0', 'dc 00 00 00 10 00 00 00'],
    ['r0 = le64 r0', 'd4 00 00 00 40 00 00 00'],
    ['gotol +5', '06 00 00 00 05 00 00 00'],
    ['goto -1', '05 00 ff ff 00 00 00 00'],
    ['may_goto +3', 'e5 00 03 00 00 00 00 00'],
    ['callx r2', '8d 02 00 00 00 00 00 00'],
    ['call 70', '85 00 00 00 46 00 00 00'],
    ['exit', '95 00 00 00 00 00 00 00'],
    ['r0 = *(s16 *)(r1 + 2)', '89 10 02 00 00 00 00 00'],
    ['*(u32 *)(r10 - 8) = 5', '62 0a f8 ff 05 00 00 00'],
    ['*(u64 *)(r10 - 8) = r1', '7b 1a f8 ff 00 00 00 00'],
    ['*(u8 *)(r10 - 1) = w1', '73 1a ff ff 00 00 00 00'],
    ['w1 = *(u16 *)(r2 + 0)', '69 21 00 00 00 00 00 00'],
    ['r1 = addr_space_cast(r2, 0, 1)', 'bf 21 01 00 01 00 00 00'],
    ['r0 = *(u8 *)skb[10]', '30 00 00 00 0a 00 00 00'],
    ['r0 = *(u16 *)skb[r1]', '48 10 00 00 00 00 00 00'],
    ['r0 = load_acquire((u64 *)(r1 + 0))', 'db 10 00 00 00 01 00 00'],
    ['w0 = load_acquire((u8 *)(r1 + 0))', 'd3 10 00 00 00 01 00 00'],
    ['store_release((u16 *)(r1 + 0), w2)', 'cb 21 00 00 10 01 00 00'],
    ['store_release((u64 *)(r1 + 0), r2)', 'db 21 00 00 10 01 00 00'],
    ['r1 s/= r2', '3f 21 01 00 00 00 00 00'],
    ['w1 s%= 3', '94 01 01 00 03 00 00 00'],
    ['r1 s>>= 3', 'c7 01 00 00 03 00 00 00'],
    ['r1 <<= r2', '6f 21 00 00 00 00 00 00'],
    ['r1 = -r1', '87 01 00 00 00 00 00 00'],
    ['w1 = -w1', '84 01 00 00 00 00 00 00'],
    ['w1 = 4294967295', 'b4 01 00 00 ff ff ff ff'],
    ['r1 = -2147483648', 'b7 01 00 00 00 00 00 80'],
    ['r1 = r10', 'bf a1 00 00 00 00 00 00'],
    ['ld_pseudo r1, 2, 5', '18 21 00 00 05 00 00 00 00 00 00 00 00 00 00 00'],
  ];
  it.each(cases)('%s', (line, bytes) => {
    expect(bytesOf(line, 'llvm')).toBe(bytes);
    expect(bytesOf(line, 'bpfkit')).toBe(bytes);
  });

  it('reads llvm-objdump output, addresses, bytes and function headers included', () => {
    const dump = [
      '0000000000000000 <prog>:',
      '       0:\tb7 00 00 00 00 00 00 00\tr0 = 0',
      '       1:\t18 01 00 00 01 00 00 00 00 00 00 00 00 00 00 00\tr1 = 1 ll',
      '       3:\t05 00 ff ff 00 00 00 00\tgoto -1 <prog+0x18>',
      '       4:\t95 00 00 00 00 00 00 00\texit',
    ].join('\n');
    expect(assemble(dump, { syntax: 'llvm' })).toEqual([insn(0xb7), insn(0x18, 1, 0, 0, 1, 0), insn(0x05, 0, 0, -1), insn(0x95)]);
  });
});

describe('bpfkit-only forms', () => {
  it('helper calls by name and id, by id, by name', () => {
    expect(one('call bpf_map_lookup_elem#1')).toEqual(insn(0x85, 0, 0, 0, 1));
    expect(one('call helper#999')).toEqual(insn(0x85, 0, 0, 0, 999));
    expect(one('call bpf_trace_printk')).toEqual(insn(0x85, 0, 0, 0, helperId('bpf_trace_printk')!));
    expect(one('call 5')).toEqual(insn(0x85, 0, 0, 0, 5));
  });

  it('local calls by offset and by label, kfunc calls with and without a BTF fd index', () => {
    expect(one('call local +5')).toEqual(insn(0x85, 0, 1, 0, 5));
    expect(one('call local -3 <f>')).toEqual(insn(0x85, 0, 1, 0, -3));
    expect(assemble('call local f\nexit\nf:\nr0 = 1\nexit')[0]).toEqual(insn(0x85, 0, 1, 0, 1));
    expect(one('call kfunc 123')).toEqual(insn(0x85, 0, 2, 0, 123));
    expect(one('call kfunc 123 btf_fd 2')).toEqual(insn(0x85, 0, 2, 2, 123));
    expect(one('call kfunc 123 [btf_fd 2]')).toEqual(insn(0x85, 0, 2, 2, 123));
  });

  it('lddw pseudo sources', () => {
    expect(one('r1 = map_fd(5) ll')).toEqual(insn(0x18, 1, 1, 0, 5, 0));
    expect(one('r1 = map_value(5, 16) ll')).toEqual(insn(0x18, 1, 2, 0, 5, 16));
    expect(one('r2 = btf_id(123) ll')).toEqual(insn(0x18, 2, 3, 0, 123, 0));
    expect(one('r3 = func(+3) ll')).toEqual(insn(0x18, 3, 4, 0, 3, 0));
    expect(one('r1 = map_idx(0) ll')).toEqual(insn(0x18, 1, 5, 0, 0, 0));
    expect(one('r1 = map_idx_value(0, 8) ll')).toEqual(insn(0x18, 1, 6, 0, 0, 8));
    // func(label): as the kernel reads it, the offset counts from the lddw's second slot
    // (subprog = lddw index + imm + 1), so a callback two instructions on is +2.
    expect(assemble('r1 = func(cb) ll\nexit\ncb:\nexit')[0]).toEqual(insn(0x18, 1, 4, 0, 2, 0));
  });

  it('legacy packet loads with an offset register and immediate', () => {
    expect(one('r0 = *(u16 *)skb[r1 + 10]')).toEqual(insn(0x48, 0, 1, 0, 10));
    expect(one('r0 = *(u32 *)skb[r1 - 4]')).toEqual(insn(0x40, 0, 1, 0, -4));
  });

  it('the llvm syntax refuses bpfkit-only forms with a hint', () => {
    expect(errorOf('call bpf_map_lookup_elem#1', 'llvm').message).toMatch(/line 1: .*not llvm syntax.*--syntax bpfkit/);
    expect(errorOf('r1 = map_fd(5) ll', 'llvm').message).toMatch(/bpfkit syntax/);
  });
});

describe('labels, comments and layout', () => {
  it('resolves labels to slot offsets, counting lddw as two slots', () => {
    const program = assemble(`
      start:
        r1 = 0x1122334455667788 ll   ; two slots
      loop: r1 += -1                  // label before an instruction
        if r1 != 0 goto loop
        if r1 == 0 goto start         # backwards, across the lddw
        goto end
      end:
        exit
    `);
    expect(program.map((i) => i.off)).toEqual([0, 0, -2, -5, 0, 0]);
  });

  it('keeps # inside a helper name and treats a spaced # as a comment', () => {
    expect(assemble('call bpf_map_lookup_elem#1 # look it up')).toEqual([insn(0x85, 0, 0, 0, 1)]);
  });

  it('gotol resolves a label with a 32-bit offset', () => {
    expect(assemble('gotol end\nexit\nend:\nexit')[0]).toEqual(insn(0x06, 0, 0, 0, 1));
  });

  it('names the line of every error, counting from firstLine', () => {
    expect(errorOf('r0 = 0\nr0 +== 1\nexit').line).toBe(2);
    try {
      assemble('exit\nfoo', { syntax: 'ubpf', firstLine: 10 });
    } catch (e) {
      expect((e as AssemblyError).line).toBe(11);
    }
    expect(() => assemble('exit\nfoo', { syntax: 'ubpf', firstLine: 10 })).toThrow(/^line 11: unknown mnemonic "foo"/);
  });
});

describe('errors', () => {
  const cases: [string, string, RegExp][] = [
    ['bpfkit', 'r0 = 0\nbogus r1, r2', /^line 2: cannot read "bogus r1, r2"/],
    ['bpfkit', 'r11 = 1', /^line 1: bad register "?r11"? \(registers are r0-r10/],
    ['bpfkit', 'w0 += r1', /mixes 32-bit \(w\) and 64-bit \(r\) registers/],
    ['bpfkit', 'r0 = 4294967296', /out of range for 32 bits/],
    ['bpfkit', 'r0 = *(u32 *)(r1 + 32768)', /memory offset \+32768 is out of range for 16 bits/],
    ['bpfkit', 'r0 = 1 ll\nr0 = 18446744073709551616 ll', /^line 2: .*does not fit in 64 bits/],
    ['bpfkit', 'goto +32768', /jump offset \+32768 is out of range for 16 bits/],
    ['bpfkit', 'goto nowhere', /^line 1: undefined label "nowhere"/],
    ['bpfkit', 'a:\na:\nexit', /^line 2: label "a" is defined twice/],
    ['bpfkit', '.section foo', /unknown directive "\.section"/],
    ['bpfkit', 'r1 = -r2', /in place/],
    ['bpfkit', 'r1 = cmpxchg_64(r1 + 0, r0, r2)', /cmpxchg compares with and returns into r0/],
    ['bpfkit', 'r1 = atomic_fetch_add((u64 *)(r1 + 0), r2)', /old value into its source register/],
    ['bpfkit', 'lock *(u8 *)(r1 + 0) += w2', /atomic read-modify-write exists only for 4 and 8 bytes/],
    ['bpfkit', 'r0 = *(s64 *)(r1 + 0)', /no sign-extending 8-byte load/],
    ['bpfkit', 'w0 = (s32)w1', /sign-extension width/],
    ['bpfkit', 'r1 = *(u8 *)skb[1]', /always load into r0/],
    ['bpfkit', 'r1 = map_value(5) ll', /map_value takes 2 arguments/],
    ['bpfkit', 'call bpf_no_such_helper#1', /unknown helper "bpf_no_such_helper"/],
    ['bpfkit', 'call bpf_map_lookup_elem#2', /bpf_map_lookup_elem is helper #1, not #2/],
    ['bpfkit', 'call kfunc 1 btf_fd 40000', /BTF fd index 40000 does not fit/],
    ['bpfkit', 'r0 = *(u32 *)(w1 + 0)', /memory address uses a 64-bit register/],
    ['bpfkit', 'r1 = addr_space_cast(r2, 2, 1)', /address spaces 1 and 0/],
    ['ubpf', 'mov %r0', /^line 1: mov takes 2 operands/],
    ['ubpf', 'mov %r0, %r11', /bad register %r11/],
    ['ubpf', 'mov r0, 1', /bad register "r0"/],
    ['ubpf', 'mov32 %r0, 2147483648', /out of range for 32 bits/],
    ['ubpf', 'mov32 %r0, 0x100000000', /out of range for 32 bits/],
    ['ubpf', 'ldxw %r0, [%r1+0x10000]', /memory offset \+0x10000 is out of range/],
    ['ubpf', 'ldxw %r0, %r1', /expected a memory operand/],
    ['ubpf', 'lock sub [%r10-8], %r1', /invalid lock operation "sub"/],
    ['ubpf', 'lock add [%r10-8]', /Invalid number of operands for lock/],
    ['ubpf', 'lock', /Invalid number of operands for lock/],
    ['ubpf', 'jeq %r1, 0, +40000', /jump offset \+40000 is out of range/],
    ['ubpf', 'call foo 1', /unknown call kind "foo"/],
    ['ubpf', 'movsx3232 %r0, %r1', /unknown mnemonic|cannot sign-extend/],
    ['ubpf', 'ldxsdw %r0, [%r1]', /no sign-extending 8-byte load/],
    ['ubpf', '.text', /unknown directive "\.text"/],
    ['ubpf', 'L1:\nL1:\nexit', /^line 2: label "L1" is defined twice/],
  ];
  it.each(cases)('%s: %s', (syntax, source, message) => {
    const error = errorOf(source, syntax as AsmSyntax);
    expect(error.message).toMatch(message);
    expect(error.line).toBeGreaterThan(0);
  });

  it('reads very long blank runs in linear time (a quadratic regex would time the test out)', () => {
    const blanks = ' '.repeat(200_000);
    for (const syntax of ['bpfkit', 'llvm', 'ubpf'] as const) {
      for (const line of [`if r1${blanks}x`, `goto +1${blanks}<`, `r1 = 1${blanks}<a b>`, `mov %r0,${blanks}`, `lock${blanks}add`]) {
        expect(() => assemble(line, { syntax })).toThrow(AssemblyError);
      }
    }
  });

  it('refuses an unknown syntax name', () => {
    expect(() => assemble('exit', { syntax: 'intel' as AsmSyntax })).toThrow(TypeError);
  });

  it('never throws anything but AssemblyError on garbage', () => {
    const alphabet = ['r1', 'w2', '%r3', '=', '+=', '*(u32 *)', '(', ')', '[', ']', ',', 'goto', 'if', 'call', 'lock', '-1', '0x', 'll', 'skb', ':', '#', '<', '>', 'exit', 'x'];
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 2000; n++) {
      const words = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => alphabet[Math.floor(rand() * alphabet.length)]);
      const line = words.join(rand() < 0.5 ? ' ' : '');
      for (const syntax of ['bpfkit', 'llvm', 'ubpf'] as const) {
        try {
          assemble(line, { syntax });
        } catch (e) {
          if (!(e instanceof AssemblyError)) throw new Error(`${syntax} "${line}" threw ${String(e)}`);
        }
      }
    }
  });
});

describe('ubpf syntax', () => {
  const cases: [string, Instruction][] = [
    ['mov %r0, 0', insn(0xb7)],
    ['mov32 %r0, -1', insn(0xb4, 0, 0, 0, -1)],
    ['mov32 %r0, 0xffffffff', insn(0xb4, 0, 0, 0, -1)],
    ['add32 %r0, 1', insn(0x04, 0, 0, 0, 1)],
    ['sdiv %r1, %r2', insn(0x3f, 1, 2, 1)],
    ['smod32 %r1, 3', insn(0x94, 1, 0, 1, 3)],
    ['neg %r1', insn(0x87, 1)],
    ['ldxw %r0, [%r1+20]', insn(0x61, 0, 1, 20)],
    ['ldxsh %r0, [%r10-2]', insn(0x89, 0, 10, -2)],
    ['ldxdw %r0, [%r1]', insn(0x79, 0, 1, 0)],
    ['stxdw [%r10-8], %r0', insn(0x7b, 10, 0, -8)],
    ['stw [%r10 - 4], 0x11223344', insn(0x62, 10, 0, -4, 0x11223344)],
    ['lddw %r0, 0x1122334455667788', insn(0x18, 0, 0, 0, 0x55667788, 0x11223344)],
    ['lddw %r0, -1', insn(0x18, 0, 0, 0, -1, -1)],
    ['lock cmpxchg [%r10-8], %r1', insn(0xdb, 10, 1, -8, 0xf1)],
    ['lock fetch add32 [%r1], %r2', insn(0xc3, 1, 2, 0, 0x01)],
    ['lock xchg32 [%r10-4], %r1', insn(0xc3, 10, 1, -4, 0xe1)],
    ['lock or [%r10-8], %r1', insn(0xdb, 10, 1, -8, 0x40)],
    ['call 5', insn(0x85, 0, 0, 0, 5)],
    ['call %r2', insn(0x8d, 2)],
    ['callx %r2', insn(0x8d, 2)],
    ['be16 %r0', insn(0xdc, 0, 0, 0, 16)],
    ['le64 %r0', insn(0xd4, 0, 0, 0, 64)],
    ['swap32 %r0', insn(0xd7, 0, 0, 0, 32)],
    ['bswap64 %r0', insn(0xd7, 0, 0, 0, 64)],
    ['movsx832 %r0, %r1', insn(0xbc, 0, 1, 8)],
    ['movsx3264 %r0, %r1', insn(0xbf, 0, 1, 32)],
    ['jeq %r1, 5, +3', insn(0x15, 1, 0, 3, 5)],
    ['jsle32 %r1, %r2, -1', insn(0xde, 1, 2, -1)],
    ['ja +3', insn(0x05, 0, 0, 3)],
    ['ja 3', insn(0x05, 0, 0, 3)],
    ['ldabsh 12', insn(0x28, 0, 0, 0, 12)],
    ['ldindb %r1, 2', insn(0x50, 0, 1, 0, 2)],
    ['exit', insn(0x95)],
  ];
  it.each(cases)('%s', (line, expected) => {
    expect(one(line, 'ubpf')).toEqual(expected);
  });

  it('labels, call local, ja32 and the implicit exit label', () => {
    const program = assemble(
      ['mov %r0, 0 # comment', 'call local f', 'ja32 out', 'jne %r0, 0, exit', 'exit', 'f:', 'mov %r0, 1', 'exit', 'out:', 'exit'].join('\n'),
      { syntax: 'ubpf' },
    );
    expect(program[1]).toEqual(insn(0x85, 0, 1, 0, 3));
    expect(program[2]).toEqual(insn(0x06, 0, 0, 0, 4));
    expect(program[3]).toEqual(insn(0x55, 0, 0, 0, 0)); // to the first exit, right after it
  });
});
