/**
 * Round trips over random valid instructions: encode/decode, and assemble(disassemble(x))
 * in the bpfkit syntax (every instruction) and the llvm syntax (where llvm's text is
 * unambiguous). Operations of every kind are generated from a seeded PRNG, so a failure
 * names a reproducible seed and instruction.
 */
import { describe, expect, it } from 'vitest';
import {
  assemble,
  decodeInstructions,
  disassemble,
  encodeInstructions,
  insn,
  instructionOf,
  isValidInstruction,
  operationOf,
  type AluName,
  type AtomicName,
  type CondName,
  type Instruction,
  type Operation,
  type PseudoLdName,
} from '../../src/isa/index.js';

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  reg(): number {
    return this.int(0, 10);
  }
  /** Edge values as often as random ones. */
  imm32(): number {
    return this.next() < 0.5 ? this.pick([0, 1, -1, 2147483647, -2147483648, 16, 255, -8]) : this.int(-2147483648, 2147483647);
  }
  off16(): number {
    return this.next() < 0.5 ? this.pick([0, 1, -1, 32767, -32768, -8, 8]) : this.int(-32768, 32767);
  }
  size(): 1 | 2 | 4 | 8 {
    return this.pick([1, 2, 4, 8] as const);
  }
}

const ALU: readonly AluName[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh'];
const CONDS: readonly CondName[] = ['eq', 'gt', 'ge', 'set', 'ne', 'sgt', 'sge', 'lt', 'le', 'slt', 'sle'];
const PSEUDOS: readonly PseudoLdName[] = ['imm64', 'map_fd', 'map_value', 'btf_id', 'func', 'map_idx', 'map_idx_value'];
const RMW: readonly AtomicName[] = ['add', 'or', 'and', 'xor', 'xchg', 'cmpxchg'];

const KINDS = [
  'alu',
  'neg',
  'movsx',
  'addr_space_cast',
  'endian',
  'jcond',
  'ja',
  'may_goto',
  'call',
  'callx',
  'exit',
  'lddw',
  'ldabs',
  'ldind',
  'load',
  'store_imm',
  'store',
  'atomic',
  'ordered',
] as const;

function randomOperation(g: Gen, kind: (typeof KINDS)[number]): Operation {
  const width = g.pick([32, 64] as const);
  switch (kind) {
    case 'alu': {
      const operand = g.next() < 0.5 ? { kind: 'reg' as const, reg: g.reg() } : { kind: 'imm' as const, value: g.imm32() };
      return { kind: 'alu', width, op: g.pick(ALU), dst: g.reg(), operand };
    }
    case 'neg':
      return { kind: 'alu', width, op: 'neg', dst: g.reg(), operand: { kind: 'imm', value: 0 } };
    case 'movsx':
      return {
        kind: 'alu',
        width,
        op: 'movsx',
        dst: g.reg(),
        operand: { kind: 'reg', reg: g.reg() },
        extendBits: width === 64 ? g.pick([8, 16, 32] as const) : g.pick([8, 16] as const),
      };
    case 'addr_space_cast': {
      const to = g.int(0, 1);
      return { kind: 'alu', width: 64, op: 'addr_space_cast', dst: g.reg(), operand: { kind: 'reg', reg: g.reg() }, addrSpace: { to, from: 1 - to } };
    }
    case 'endian':
      return { kind: 'endian', order: g.pick(['le', 'be', 'swap'] as const), bits: g.pick([16, 32, 64] as const), dst: g.reg() };
    case 'jcond': {
      const operand = g.next() < 0.5 ? { kind: 'reg' as const, reg: g.reg() } : { kind: 'imm' as const, value: g.imm32() };
      return { kind: 'jcond', width, cond: g.pick(CONDS), dst: g.reg(), operand, off: g.off16() };
    }
    case 'ja':
      return g.next() < 0.5 ? { kind: 'ja', off: g.off16(), long: false } : { kind: 'ja', off: g.imm32(), long: true };
    case 'may_goto':
      return { kind: 'may_goto', off: g.off16() };
    case 'call': {
      const target = g.pick(['helper', 'local', 'kfunc'] as const);
      const imm = target === 'helper' && g.next() < 0.5 ? g.int(1, 220) : g.imm32();
      return { kind: 'call', target, imm, btfFdIndex: target === 'kfunc' && g.next() < 0.5 ? g.off16() : 0 };
    }
    case 'callx':
      return { kind: 'callx', reg: g.reg() };
    case 'exit':
      return { kind: 'exit' };
    case 'lddw': {
      const pseudo = g.pick(PSEUDOS);
      const twoImms = pseudo === 'imm64' || pseudo === 'map_value' || pseudo === 'map_idx_value';
      return { kind: 'lddw', dst: g.reg(), pseudo, imm: g.imm32(), imm2: twoImms ? g.imm32() : 0 };
    }
    case 'ldabs':
      return { kind: 'ldabs', size: g.pick([1, 2, 4] as const), src: 0, imm: g.imm32() };
    case 'ldind':
      return { kind: 'ldind', size: g.pick([1, 2, 4] as const), src: g.reg(), imm: g.imm32() };
    case 'load': {
      const signed = g.next() < 0.4;
      return { kind: 'load', size: signed ? g.pick([1, 2, 4] as const) : g.size(), signed, dst: g.reg(), src: g.reg(), off: g.off16() };
    }
    case 'store_imm':
      return { kind: 'store_imm', size: g.size(), dst: g.reg(), off: g.off16(), imm: g.imm32() };
    case 'store':
      return { kind: 'store', size: g.size(), dst: g.reg(), src: g.reg(), off: g.off16() };
    case 'atomic': {
      const op = g.pick(RMW);
      const fetch = op === 'xchg' || op === 'cmpxchg' || g.next() < 0.5;
      return { kind: 'atomic', size: g.pick([4, 8] as const), op, fetch, dst: g.reg(), src: g.reg(), off: g.off16() };
    }
    case 'ordered':
      return { kind: 'atomic', size: g.size(), op: g.pick(['load_acquire', 'store_release'] as const), fetch: false, dst: g.reg(), src: g.reg(), off: g.off16() };
  }
}

const SEED = 0x5eed;
const PER_KIND = 300;

/** PER_KIND random valid instructions of every kind, built through instructionOf. */
function randomInstructions(seed: number): Instruction[] {
  const g = new Gen(prng(seed));
  const out: Instruction[] = [];
  for (const kind of KINDS) for (let i = 0; i < PER_KIND; i++) out.push(instructionOf(randomOperation(g, kind)));
  return out;
}

/** Every valid opcode byte crossed with field values that hit each field rule. */
function everyOpcodeForm(): Instruction[] {
  const out: Instruction[] = [];
  for (let code = 0; code < 256; code++) {
    if (code === 0x18) continue;
    for (const dst of [0, 1, 10])
      for (const src of [0, 2, 10])
        for (const off of [0, 1, 8, 16, 32, -8])
          for (const imm of [0, 1, -1, 16, 32, 64, 0x41, 0xe1, 0xf1, 0x100, 0x110, 1 << 16])
            if (isValidInstruction(insn(code, dst, src, off, imm))) out.push(insn(code, dst, src, off, imm));
  }
  for (let src = 0; src <= 6; src++) out.push(insn(0x18, 3, src, 0, 7, src === 0 || src === 2 || src === 6 ? -9 : 0));
  return out;
}

/** Is llvm-objdump's text for this instruction enough to rebuild it? */
function llvmUnambiguous(x: Instruction): boolean {
  const op = operationOf(x);
  switch (op.kind) {
    case 'call':
      return op.target === 'helper'; // local and kfunc calls print as `call IMM` too
    case 'lddw':
      return op.pseudo === 'imm64' || op.imm2 === 0; // ld_pseudo prints no second immediate
    case 'ldind':
      return op.imm === 0; // llvm-objdump drops ldind's immediate
    case 'atomic':
      // Without alu32, 32-bit atomics print as a plain add or <unknown>.
      return op.size === 8 || op.op === 'load_acquire' || op.op === 'store_release' || (op.op === 'add' && !op.fetch);
    default:
      return true;
  }
}

function roundTrip(insns: readonly Instruction[], syntax: 'bpfkit' | 'llvm', alu32 = false): void {
  for (const x of insns) {
    const [text] = disassemble([x], { syntax, alu32 });
    let back: Instruction[];
    try {
      back = assemble(text!, { syntax });
    } catch (e) {
      throw new Error(`${syntax}: "${text}" (${JSON.stringify(x)}) does not assemble: ${(e as Error).message}`);
    }
    expect(back, `${syntax}: "${text}"`).toEqual([x]);
  }
}

describe('random valid instructions', () => {
  const insns = randomInstructions(SEED);

  it('cover every operation kind', () => {
    const kinds = new Set(insns.map((x) => operationOf(x).kind));
    expect([...kinds].sort()).toEqual(['alu', 'atomic', 'call', 'callx', 'endian', 'exit', 'ja', 'jcond', 'ldabs', 'ldind', 'lddw', 'load', 'may_goto', 'store', 'store_imm'].sort());
  });

  it('round-trip through encode/decode, little- and big-endian', () => {
    expect(decodeInstructions(encodeInstructions(insns))).toEqual(insns);
    expect(decodeInstructions(encodeInstructions(insns, 'big'), { endian: 'big' })).toEqual(insns);
  });

  it('round-trip through the bpfkit syntax: assemble(disassemble(x)) == x', () => {
    roundTrip(insns, 'bpfkit');
  });

  it('round-trip through the llvm syntax where its text is unambiguous', () => {
    roundTrip(insns.filter(llvmUnambiguous), 'llvm');
  });

  it('round-trip through the llvm syntax as llvm-objdump --mattr=+alu32 prints it', () => {
    roundTrip(insns.filter((x) => llvmUnambiguous(x) || operationOf(x).kind === 'atomic'), 'llvm', true);
  });

  it('a whole program round-trips as one text', () => {
    const text = disassemble(insns).join('\n');
    expect(assemble(text)).toEqual(insns);
  });
});

describe('every valid opcode form', () => {
  const forms = everyOpcodeForm();

  it('is a large set', () => {
    expect(forms.length).toBeGreaterThan(5000);
  });

  it('round-trips through the bpfkit syntax', () => {
    roundTrip(forms, 'bpfkit');
  });

  it('round-trips through the llvm syntax where its text is unambiguous', () => {
    roundTrip(forms.filter(llvmUnambiguous), 'llvm');
  });
});
