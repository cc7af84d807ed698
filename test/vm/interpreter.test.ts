import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgramBuilder, R0, R1, R2, R3, R6, R7, R10, reg } from '../../src/isa/builder.js';
import { insn } from '../../src/isa/instruction.js';
import { VmFault, VmLimitError, VmLoadError } from '../../src/vm/errors.js';
import type { AluName } from '../../src/isa/operation.js';
import { BPF_MAX_LOOPS } from '../../src/vm/program.js';
import { runProgram, runSigned, settings } from './run-helpers.js';

const M64 = (1n << 64n) - 1n;
const asU = (v: bigint) => BigInt.asUintN(64, v);
const asS = (v: bigint) => BigInt.asIntN(64, v);

/** A reference model of one ALU operation, from the kernel's rules, in BigInt. */
function model(op: AluName, width: 32 | 64, a: bigint, b: bigint): bigint {
  const bits = BigInt(width);
  const mask = (1n << bits) - 1n;
  const ua = a & mask;
  const ub = b & mask;
  const sa = BigInt.asIntN(width, ua);
  const sb = BigInt.asIntN(width, ub);
  let r: bigint;
  switch (op) {
    case 'add': r = ua + ub; break;
    case 'sub': r = ua - ub; break;
    case 'mul': r = ua * ub; break;
    case 'div': r = ub === 0n ? 0n : ua / ub; break;
    case 'mod': r = ub === 0n ? ua : ua % ub; break;
    case 'sdiv': r = sb === 0n ? 0n : sa / sb; break;
    case 'smod': r = sb === 0n ? ua : sa % sb; break;
    case 'or': r = ua | ub; break;
    case 'and': r = ua & ub; break;
    case 'xor': r = ua ^ ub; break;
    case 'lsh': r = ua << (ub & (bits - 1n)); break;
    case 'rsh': r = ua >> (ub & (bits - 1n)); break;
    case 'arsh': r = sa >> (ub & (bits - 1n)); break;
    case 'mov': r = ub; break;
    default: throw new Error(op);
  }
  return r & mask;
}

const OPS: AluName[] = ['add', 'sub', 'mul', 'div', 'mod', 'sdiv', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov'];
const ALL_VALUES = [0n, 1n, 2n, 3n, 7n, 31n, 32n, 63n, 64n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x123456789abcdefn, -1n, -2n, -7n, -(1n << 31n), -(1n << 63n), (1n << 63n) - 1n, 1n << 53n, (1n << 53n) + 1n, 0xdeadbeefcafebaben];

for (const tier of ['interpreter', 'js'] as const) {
// The JavaScript tier compiles every program, so it gets a smaller (still edge-heavy) value set.
const VALUES = tier === 'js' ? ALL_VALUES.filter((_, i) => i % 2 === 0) : ALL_VALUES;
describe(`${tier}: ALU against a BigInt model of the kernel rules`, () => {
  beforeAll(() => { settings.tier = tier; });
  afterAll(() => { settings.tier = 'interpreter'; });
  for (const width of [64, 32] as const) {
    for (const op of OPS) {
      it(`${op}${width === 32 ? '32' : ''} with register operands`, () => {
        for (const a of VALUES) {
          for (const b of VALUES) {
            const p = new ProgramBuilder().lddw(R0, a).lddw(R1, b);
            (width === 64 ? p.alu64(op, R0, reg(R1)) : p.alu32(op, R0, reg(R1))).exit();
            expect(runProgram(p.build()), `${a} ${op} ${b}`).toBe(model(op, width, asU(a), asU(b)));
          }
        }
      });
      it(`${op}${width === 32 ? '32' : ''} with an immediate (sign-extended)`, () => {
        for (const a of VALUES) {
          for (const b of [0, 1, -1, 5, -7, 0x7fffffff, -0x80000000, 33, 65]) {
            const p = new ProgramBuilder().lddw(R0, a);
            (width === 64 ? p.alu64(op, R0, b) : p.alu32(op, R0, b)).exit();
            expect(runProgram(p.build()), `${a} ${op} ${b}`).toBe(model(op, width, asU(a), asU(BigInt(b))));
          }
        }
      });
    }
  }

  it('neg, movsx and byte swaps', () => {
    for (const a of VALUES) {
      const ua = asU(a);
      expect(runProgram(new ProgramBuilder().lddw(R0, a).neg64(R0).exit().build())).toBe(asU(-a));
      expect(runProgram(new ProgramBuilder().lddw(R1, a).movsx64(R0, R1, 8).exit().build())).toBe(asU(BigInt.asIntN(8, ua)));
      expect(runProgram(new ProgramBuilder().lddw(R1, a).movsx64(R0, R1, 16).exit().build())).toBe(asU(BigInt.asIntN(16, ua)));
      expect(runProgram(new ProgramBuilder().lddw(R1, a).movsx64(R0, R1, 32).exit().build())).toBe(asU(BigInt.asIntN(32, ua)));
      const be64 = BigInt('0x' + ua.toString(16).padStart(16, '0').match(/../g)!.reverse().join(''));
      expect(runProgram(new ProgramBuilder().lddw(R0, a).endian('be', R0, 64).exit().build())).toBe(be64);
      expect(runProgram(new ProgramBuilder().lddw(R0, a).endian('swap', R0, 64).exit().build())).toBe(be64);
      expect(runProgram(new ProgramBuilder().lddw(R0, a).endian('le', R0, 16).exit().build())).toBe(ua & 0xffffn);
      expect(runProgram(new ProgramBuilder().lddw(R0, a).endian('le', R0, 32).exit().build())).toBe(ua & 0xffffffffn);
      expect(runProgram(new ProgramBuilder().lddw(R0, a).endian('be', R0, 16).exit().build())).toBe(((ua & 0xffn) << 8n) | ((ua >> 8n) & 0xffn));
    }
  });
});

describe(`${tier}: jumps`, () => {
  beforeAll(() => { settings.tier = tier; });
  afterAll(() => { settings.tier = 'interpreter'; });
  const conds = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'sgt', 'sge', 'slt', 'sle', 'set'] as const;
  const truth = (c: (typeof conds)[number], a: bigint, b: bigint, width: 32 | 64): boolean => {
    const m = width === 64 ? M64 : 0xffffffffn;
    const ua = a & m, ub = b & m;
    const sa = BigInt.asIntN(width, ua), sb = BigInt.asIntN(width, ub);
    return { eq: ua === ub, ne: ua !== ub, gt: ua > ub, ge: ua >= ub, lt: ua < ub, le: ua <= ub, sgt: sa > sb, sge: sa >= sb, slt: sa < sb, sle: sa <= sb, set: (ua & ub) !== 0n }[c];
  };
  for (const width of [64, 32] as const) {
    it(`every condition, ${width}-bit, register and immediate`, () => {
      for (const c of conds) {
        for (const a of VALUES) {
          for (const b of [0n, 1n, -1n, 0x7fffffffn, -(1n << 31n), 0x100000000n, 5n]) {
            const build = (imm: boolean) => {
              const p = new ProgramBuilder().lddw(R1, a).lddw(R2, b).mov64(R0, 0);
              const src = imm ? Number(BigInt.asIntN(32, b)) : reg(R2);
              (width === 64 ? p.jump(c, R1, src, 'yes') : p.jump32(c, R1, src, 'yes')).exit().label('yes').mov64(R0, 1).exit();
              return p.build();
            };
            expect(runProgram(build(false)), `${a} ${c} ${b}`).toBe(truth(c, a, b, width) ? 1n : 0n);
            if (b === BigInt.asIntN(32, b)) expect(runProgram(build(true)), `${a} ${c} imm ${b}`).toBe(truth(c, a, b, width) ? 1n : 0n);
          }
        }
      }
    });
  }
});

describe(`${tier}: memory, calls and limits`, () => {
  beforeAll(() => { settings.tier = tier; });
  afterAll(() => { settings.tier = 'interpreter'; });
  it('stores and loads every size on the stack, sign-extending loads too', () => {
    const p = new ProgramBuilder()
      .lddw(R1, 0x8182838485868788n)
      .store(8, R10, -8, reg(R1))
      .load(1, R2, R10, -8, true) // 0x88 -> -120
      .load(2, R3, R10, -8, true) // 0x8788
      .load(4, R0, R10, -8, false)
      .alu64('add', R0, reg(R2))
      .alu64('add', R0, reg(R3))
      .exit()
      .build();
    expect(runSigned(p)).toBe(0x85868788n + -120n + BigInt.asIntN(16, 0x8788n));
  });

  it('faults precisely on a read past the stack', () => {
    const p = new ProgramBuilder().load(8, R0, R10, 0).exit().build();
    const f = catchFault(() => runProgram(p));
    expect(f).toBeInstanceOf(VmFault);
    expect(f).toMatchObject({ kind: 'out_of_bounds', pc: 0, region: 'stack frame 0', size: 8 });
  });

  it('faults on NULL and on scalars used as pointers', () => {
    expect(catchFault(() => runProgram(new ProgramBuilder().mov64(R1, 0).load(4, R0, R1, 0).exit().build()))).toMatchObject({ kind: 'invalid_pointer', pc: 1 });
    expect(catchFault(() => runProgram(new ProgramBuilder().lddw(R1, 0x1234567812345678n).store(4, R1, 0, 1).mov64(R0, 0).exit().build()))).toMatchObject({ kind: 'invalid_pointer', pc: 2 });
  });

  it('bpf-to-bpf calls pass r1-r5, return r0 and preserve r6-r9', () => {
    const p = new ProgramBuilder()
      .mov64(R6, 6).mov64(R7, 7).mov64(R1, 10).mov64(R2, 20)
      .store(8, R10, -8, 99)
      .callLocal('f')
      .alu64('add', R0, reg(R6))
      .alu64('add', R0, reg(R7))
      .load(8, R1, R10, -8)
      .alu64('add', R0, reg(R1))
      .exit()
      .label('f')
      .mov64(R6, 0).mov64(R7, 0)
      .store(8, R10, -8, 1000) // callee's own frame
      .mov64(R0, reg(R1)).alu64('add', R0, reg(R2))
      .exit()
      .build();
    expect(runProgram(p)).toBe(30n + 13n + 99n);
  });

  it('limits call depth to 8 frames', () => {
    const p = new ProgramBuilder().callLocal('f').exit().label('f').callLocal('f').exit().build();
    expect(catchFault(() => runProgram(p))).toMatchObject({ name: 'VmLimitError', limit: 'call_depth' });
  });

  it('limits the combined stack to 512 bytes', () => {
    const p = new ProgramBuilder()
      .store(8, R10, -300, 1).callLocal('f').exit()
      .label('f').store(8, R10, -300, 1).mov64(R0, 0).exit().build();
    expect(catchFault(() => runProgram(p))).toMatchObject({ name: 'VmLimitError', limit: 'stack_size' });
  });

  it('stops an endless loop with the instruction budget', () => {
    const p = new ProgramBuilder().label('l').goto('l').exit().build();
    const e = catchFault(() => runProgram(p, { budget: 10_000 }));
    expect(e).toBeInstanceOf(VmLimitError);
    expect(e).toMatchObject({ limit: 'instructions' });
  });

  it('may_goto falls through until the loop budget is spent, then jumps', () => {
    const p = new ProgramBuilder().mov64(R0, 0).label('l').mayGoto('out').alu64('add', R0, 1).goto('l').label('out').exit().build();
    expect(runProgram(p, { mayGotoLoops: 1000 })).toBe(1000n);
    expect(BPF_MAX_LOOPS).toBe(8 * 1024 * 1024);
  });

  it('atomics: add, fetch-add, or, and, xor, xchg and cmpxchg, 32 and 64 bits', () => {
    const p = new ProgramBuilder()
      .store(8, R10, -8, 10)
      .mov64(R1, 5)
      .atomic('add', 8, R10, -8, R1) // 15
      .mov64(R2, 1)
      .atomic('add', 8, R10, -8, R2, true) // r2 = 15, mem 16
      .mov64(R3, 0xff)
      .atomic('and', 8, R10, -8, R3) // 16
      .mov64(R3, 3)
      .atomic('or', 4, R10, -8, R3, true) // r3 = 16, mem 19
      .mov64(R0, 19)
      .mov64(R1, 100)
      .atomic('cmpxchg', 8, R10, -8, R1) // r0 = 19 (old), mem 100
      .load(8, R6, R10, -8)
      .mov64(R7, 7)
      .atomic('xchg', 8, R10, -8, R7) // r7 = 100
      .alu64('mul', R2, 1000000)
      .alu64('mul', R3, 10000)
      .alu64('add', R2, reg(R3))
      .alu64('mul', R6, 10)
      .alu64('add', R2, reg(R6))
      .alu64('add', R2, reg(R7))
      .alu64('add', R2, reg(R0))
      .mov64(R0, reg(R2))
      .exit()
      .build();
    expect(runProgram(p)).toBe(15n * 1000000n + 16n * 10000n + 1000n + 100n + 19n);
  });

  it('refuses jumps out of the program or into an lddw at load', () => {
    expect(() => runProgram([insn(0x05, 0, 0, 5, 0), insn(0x95)])).toThrow(VmLoadError);
    expect(() => runProgram([insn(0x05, 0, 0, 1, 0), insn(0x18, 0, 0, 0, 1, 0), insn(0x95)])).toThrow(/middle of an lddw/);
    expect(() => runProgram([insn(0x07, 0, 0, 1, 1), insn(0x95)])).toThrow(VmLoadError);
    expect(() => runProgram([insn(0xb7, 10, 0, 0, 1), insn(0x95)])).toThrow(/r10 is read only/);
  });

  it('faults when execution falls off the end', () => {
    expect(catchFault(() => runProgram([insn(0xb7, 0, 0, 0, 1)]))).toMatchObject({ kind: 'invalid_instruction', pc: 1 });
  });

  it('callx calls a function through a pointer', () => {
    const p = new ProgramBuilder().lddwFunc(R2, 'f').mov64(R1, 41).raw(insn(0x8d, R2)).exit().label('f').mov64(R0, reg(R1)).alu64('add', R0, 1).exit().build();
    expect(runProgram(p)).toBe(42n);
  });
});
}

function catchFault(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a fault');
}

void R0;
