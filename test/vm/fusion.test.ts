import { describe, expect, it } from 'vitest';
import { ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R10, reg } from '../../src/isa/builder.js';
import { VmFault, VmLimitError } from '../../src/vm/errors.js';
import { Fused } from '../../src/vm/fusion.js';
import { AddressSpace, Region } from '../../src/vm/memory.js';
import { VmRuntime } from '../../src/vm/runtime.js';
import type { Instruction } from '../../src/isa/instruction.js';
import type { RunInput } from '../../src/vm/interpreter.js';

// The interpreter's superinstructions must be invisible: same results, same budget
// accounting, faults at the same slot as running the pair one instruction at a time.
const rt = new VmRuntime({ tier: 'interpreter' });

function run(insns: Instruction[], input: RunInput = {}): { value?: bigint; error?: unknown; fused: number[] } {
  const prog = rt.load('fusion', 1, insns, {});
  const fused = Array.from({ length: prog.code.length }, (_, i) => prog.code.words[i * 4]! & 0xfff).filter((op, i) => op !== prog.code.ops[i]);
  try {
    return { value: rt.machine.run(prog, input), fused };
  } catch (error) {
    return { error, fused };
  } finally {
    rt.unload(prog);
  }
}

describe('interpreter superinstructions', () => {
  it('a copy loop (mov+add, ldx+stx, add+jne) copies every word and counts like unfused code', () => {
    // Fill 8 words of stack, copy them to the 8 words below, sum the copies.
    const b = new ProgramBuilder();
    for (let i = 0; i < 8; i++) b.store(8, R10, -128 + i * 8, i * 1000 + 7);
    b.mov64(R1, 0)
      .label('loop')
      .mov64(R2, reg(R10)).alu64('add', R2, reg(R1)) // MOV_ADD_X
      .mov64(R3, reg(R10)).alu64('add', R3, -64) // MOV_ADD_K
      .alu64('add', R3, reg(R1))
      .load(8, R4, R2, -128).store(8, R3, -128, reg(R4)) // COPY_DW (r3 - 64 - 128 = fp - 192 + i*8)
      .alu64('add', R1, 8).jump('ne', R1, 64, 'loop') // ADD_K_JMP_K
      .mov64(R0, 0).mov64(R1, 0)
      .label('sum')
      .mov64(R2, reg(R10)).alu64('add', R2, reg(R1))
      .load(8, R3, R2, -192).alu64('add', R0, reg(R3))
      .alu32('add', R1, 8).jump32('lt', R1, 64, 'sum') // ADD32_K_JMP32_K
      .exit();
    const r = run(b.build());
    expect(r.fused).toEqual(expect.arrayContaining([Fused.MOV_ADD_X, Fused.MOV_ADD_K, Fused.COPY_DW, Fused.ADD_K_JMP_K, Fused.ADD32_K_JMP32_K]));
    expect(r.value).toBe(BigInt(28 * 1000 + 8 * 7));
  });

  it('a budget that ends between the two halves stops at the second slot', () => {
    const p = new ProgramBuilder().mov64(R1, reg(R10)).alu64('add', R1, -8).mov64(R0, 0).exit().build();
    expect(run(p).fused).toEqual([Fused.MOV_ADD_K]);
    const one = run(p, { budget: 1 }).error;
    expect(one).toBeInstanceOf(VmLimitError);
    expect(one).toMatchObject({ limit: 'instructions', pc: 1 });
    expect(run(p, { budget: 2 }).error).toMatchObject({ limit: 'instructions', pc: 2 });
    expect(run(p, { budget: 4 }).value).toBe(0n);
  });

  it('a fault in the second half names the second slot', () => {
    const p = new ProgramBuilder().store(8, R10, -8, 1).mov64(R2, 0).load(8, R3, R10, -8).store(8, R2, 0, reg(R3)).mov64(R0, 0).exit().build();
    const { error, fused } = run(p);
    expect(fused).toContain(Fused.COPY_DW);
    expect(error).toBeInstanceOf(VmFault);
    expect(error).toMatchObject({ kind: 'invalid_pointer', pc: 3 });
  });

  it('a jump into the second slot of a pair runs it alone', () => {
    const p = new ProgramBuilder()
      .mov64(R0, 5).mov64(R1, 100)
      .goto('second')
      .mov64(R0, reg(R1)).label('second').alu64('add', R0, reg(R1)) // r0 = 5 + 100, not 200
      .exit().build();
    const r = run(p);
    expect(r.fused).toContain(Fused.MOV_ADD_X);
    expect(r.value).toBe(105n);
  });

  it('switch chains (jeq+jeq) and phi moves before a jump (mov+ja) take every branch', () => {
    const prog = (x: number) =>
      new ProgramBuilder()
        .mov32(R1, x)
        .jump32('eq', R1, 0, 'zero').jump32('eq', R1, 1, 'one') // JEQ32_K_JEQ32_K
        .mov32(R0, 30).goto('out') // MOV32_K_JA
        .label('zero').mov64(R0, 10).goto('out') // MOV64_K_JA
        .label('one').mov64(R0, 20)
        .label('out').exit().build();
    expect(run(prog(0)).fused).toEqual(expect.arrayContaining([Fused.JEQ32_K_JEQ32_K, Fused.MOV32_K_JA, Fused.MOV64_K_JA]));
    expect([0, 1, 2].map((x) => run(prog(x)).value)).toEqual([10n, 20n, 30n]);
  });

  describe('the copy loop (eight instructions per iteration, one dispatch)', () => {
    /**
     * 16 words at fp-256 copied to fp-128 by clang's loop shape, then r0 = first + last
     * copied word. Slots: 16 stores (0-15), r6/r7 setup (16-19), r1 = 0 (20), the loop
     * (21-28), the epilogue (29-32).
     */
    const LOOP = 21;
    function copyProgram(opts: { src?: number; words?: number; cmp?: 'ne' | 'lt' } = {}): Instruction[] {
      const b = new ProgramBuilder();
      for (let i = 0; i < 16; i++) b.store(8, R10, -256 + i * 8, i * 1000 + 7);
      const words = opts.words ?? 16;
      b.mov64(R6, reg(R10)).alu64('add', R6, opts.src ?? -256)
        .mov64(R7, reg(R10)).alu64('add', R7, -128)
        .mov64(R1, 0)
        .label('loop')
        .mov64(R2, reg(R7)).alu64('add', R2, reg(R1))
        .mov64(R3, reg(R6)).alu64('add', R3, reg(R1))
        .load(8, R3, R3, 0).store(8, R2, 0, reg(R3))
        .alu64('add', R1, 8).jump(opts.cmp ?? 'ne', R1, words * 8, 'loop')
        .load(8, R0, R10, -8).load(8, R4, R10, -128).alu64('add', R0, reg(R4))
        .exit();
      return b.build();
    }
    /** Slots executed, in order, by copyProgram() run one instruction at a time. */
    const trace = [...Array.from({ length: LOOP }, (_, i) => i), ...Array.from({ length: 16 * 8 }, (_, i) => LOOP + (i % 8)), 29, 30, 31, 32];

    it('is fused, copies every word and takes either loop condition', () => {
      for (const cmp of ['ne', 'lt'] as const) {
        const r = run(copyProgram({ cmp }));
        expect(r.fused).toContain(Fused.COPY_LOOP_DW);
        expect(r.value).toBe(BigInt(15 * 1000 + 7 + 7));
      }
    });

    it('charges all eight instructions: every budget stops at the slot unfused code stops at', () => {
      const p = copyProgram();
      const stops: number[] = [];
      for (let budget = 1; budget < trace.length; budget++) {
        const { error } = run(p, { budget });
        expect(error).toBeInstanceOf(VmLimitError);
        stops.push((error as VmLimitError).pc);
      }
      expect(stops).toEqual(trace.slice(1));
      expect(run(p, { budget: trace.length }).value).toBe(BigInt(15 * 1000 + 7 + 7));
    });

    it('a load that leaves its region faults at the load slot with its address', () => {
      // Source at fp-40: iteration 5 reads fp+0, one past the stack frame.
      const { error } = run(copyProgram({ src: -40 }));
      expect(error).toBeInstanceOf(VmFault);
      expect(error).toMatchObject({ kind: 'out_of_bounds', pc: LOOP + 4, region: 'stack frame 0' });
      expect((error as VmFault).address! & 0xffffffffn).toBe(BigInt(AddressSpace.lo(512)));
    });

    it('a store into read-only memory faults at the store slot', () => {
      const ro = rt.memory.add(new Region('rodata', 'test rodata', new Uint8Array(128), false));
      try {
        // The same loop with r7 = the read-only region passed in r1 (moved to r7 first).
        const b = new ProgramBuilder().mov64(R7, reg(R1)).mov64(R6, reg(R10)).alu64('add', R6, -64).mov64(R1, 0)
          .label('loop')
          .mov64(R2, reg(R7)).alu64('add', R2, reg(R1))
          .mov64(R3, reg(R6)).alu64('add', R3, reg(R1))
          .load(8, R3, R3, 0).store(8, R2, 0, reg(R3))
          .alu64('add', R1, 8).jump('ne', R1, 64, 'loop')
          .mov64(R0, 0).exit();
        const { error, fused } = run(b.build(), { args: [{ lo: AddressSpace.lo(0), hi: ro.hi }] });
        expect(fused).toContain(Fused.COPY_LOOP_DW);
        expect(error).toMatchObject({ kind: 'read_only', pc: 4 + 5, region: 'test rodata' });
      } finally {
        rt.memory.remove(ro);
      }
    });

    it('is not fused when the registers overlap so that order matters', () => {
      // rA is rI: the second address pair adds the already-updated index.
      const b = new ProgramBuilder().mov64(R6, reg(R10)).alu64('add', R6, -64).mov64(R1, 0)
        .label('loop')
        .mov64(R1, reg(R6)).alu64('add', R1, reg(R1))
        .mov64(R3, reg(R6)).alu64('add', R3, reg(R1))
        .load(8, R3, R3, 0).store(8, R1, 0, reg(R3))
        .alu64('add', R1, 8).jump('ne', R1, 64, 'loop')
        .mov64(R0, 0).exit();
      expect(run(b.build(), { budget: 100 }).fused).not.toContain(Fused.COPY_LOOP_DW);
    });
  
    it('matches unfused execution for random register choices, offsets and loop conditions', () => {
      // xorshift32, so a failure replays.
      let seed = 0x2545f491;
      const rand = (n: number) => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) % n;
      };
      const pick = <T,>(xs: readonly T[]): T => xs[rand(xs.length)]!;
      const outcome = (r: { value?: bigint; error?: unknown }) =>
        r.error instanceof VmFault ? `fault ${r.error.kind} ${r.error.region} ${r.error.address}` : r.error instanceof VmLimitError ? `limit ${r.error.limit}` : r.error !== undefined ? `other ${String(r.error)}` : `value ${r.value}`;
      let fusedRuns = 0;
      for (let t = 0; t < 300; t++) {
        const regs = Array.from({ length: 7 }, () => 1 + rand(9)); // A B I P Q J E
        const [A, B, I, P, Q, J] = regs as [number, number, number, number, number, number];
        const E = rand(2) === 0 ? J : regs[6]!;
        const init: ({ scalar: number } | { fp: number })[] = Array.from({ length: 10 }, () => (rand(3) === 0 ? { scalar: pick([0, 8, 16, 24, -8, 1, 3]) } : { fp: -pick([4, 8, 12, 64, 128, 256, 504, 512, 520]) }));
        const o1 = pick([-16, -8, -4, 0, 4, 8]);
        const o2 = pick([-16, -8, -4, 0, 4, 8]);
        const K = pick([8, -8, 16, 1]);
        const N = pick([0, 8, 16, 32, 64, 3]);
        const cmp = pick(['ne', 'eq', 'lt', 'le', 'gt', 'ge'] as const);
        const build = (split: boolean) => {
          const b = new ProgramBuilder();
          for (let i = 0; i < 64; i++) b.store(8, R10, -512 + i * 8, i * 0x01010101 + 5);
          for (let r = 1; r <= 9; r++) {
            const v = init[r]!;
            if ('scalar' in v) b.mov64(r, v.scalar);
            else b.mov64(r, reg(R10)).alu64('add', r, v.fp);
          }
          b.label('loop').mov64(A, reg(P)).alu64('add', A, reg(I)).mov64(B, reg(Q)).alu64('add', B, reg(I)).load(8, B, B, o1);
          if (split) b.goto('store').label('store');
          b.store(8, A, o2, reg(B)).alu64('add', J, K).jump(cmp, E, N, 'loop');
          // r0 = a fold of every register and every stack word.
          b.mov64(R0, 0);
          for (let r = 1; r <= 9; r++) b.alu64('xor', R0, reg(r)).alu64('lsh', R0, 1);
          for (let i = 0; i < 64; i++) b.load(8, R1, R10, -512 + i * 8).alu64('add', R0, reg(R1));
          return b.exit().build();
        };
        const fused = run(build(false), { budget: 20_000 });
        const plain = run(build(true), { budget: 20_000 });
        if (fused.fused.includes(Fused.COPY_LOOP_DW)) fusedRuns++;
        expect(plain.fused).not.toContain(Fused.COPY_LOOP_DW);
        expect(outcome(fused), `case ${t}: regs ${regs} E ${E} init ${JSON.stringify(init)} o ${o1}/${o2} K ${K} N ${N} ${cmp}`).toBe(outcome(plain));
      }
      // Most choices are fusable; the rest check that refusing them is right too.
      expect(fusedRuns).toBeGreaterThan(100);
    });
  });
});
