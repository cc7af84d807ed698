import { instructionOf } from './compose.js';
import { InstructionError } from './errors.js';
import { splitImm64, type Instruction } from './instruction.js';
import type { AluName, AtomicName, CondName, Operand, Operation, PseudoLdName } from './operation.js';

/** Registers r0-r10 by name. */
export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
/** The frame pointer, r10. */
export const FP = 10;

/** A register number, or a `{ reg }` / number immediate where both are allowed. */
export type Src = number | { reg: number };
/** A register operand written as `reg(3)` to tell it from an immediate. */
export function reg(n: number): { reg: number } {
  return { reg: n };
}

type MemSize = 1 | 2 | 4 | 8;

interface Fixup {
  /** Index into the instruction list. */
  index: number;
  label: string;
  /** Which field the slot offset goes into. */
  field: 'off' | 'imm';
}

/**
 * Writes eBPF programs in TypeScript, with symbolic labels that `build()` resolves to
 * slot offsets. Every method returns the builder, so programs read top to bottom:
 *
 * ```ts
 * const prog = new ProgramBuilder()
 *   .mov64(R0, 0)
 *   .label('loop')
 *   .alu64('add', R0, 1)
 *   .jump('lt', R0, 10, 'loop')
 *   .exit()
 *   .build();
 * ```
 *
 * Immediates are numbers; a source register is written `reg(n)`.
 */
export class ProgramBuilder {
  private readonly insns: Instruction[] = [];
  private readonly slotOf: number[] = [];
  private slots = 0;
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];

  /** The slot index the next instruction will have. */
  get position(): number {
    return this.slots;
  }

  /** Name the position of the next instruction. */
  label(name: string): this {
    if (this.labels.has(name)) throw new InstructionError(`label "${name}" is defined twice`);
    this.labels.set(name, this.slots);
    return this;
  }

  /** Append a raw instruction. */
  raw(instruction: Instruction): this {
    this.insns.push(instruction);
    this.slotOf.push(this.slots);
    this.slots += instruction.imm2 !== undefined ? 2 : 1;
    return this;
  }

  /** Append an operation (checked: an impossible one throws InstructionError). */
  op(operation: Operation): this {
    return this.raw(instructionOf(operation));
  }

  alu64(op: AluName, dst: number, src: Src): this {
    return this.op({ kind: 'alu', width: 64, op, dst, operand: operand(src) });
  }
  alu32(op: AluName, dst: number, src: Src): this {
    return this.op({ kind: 'alu', width: 32, op, dst, operand: operand(src) });
  }
  mov64(dst: number, src: Src): this {
    return this.alu64('mov', dst, src);
  }
  mov32(dst: number, src: Src): this {
    return this.alu32('mov', dst, src);
  }
  /** dst = (sign-extended low `bits` of src), 64-bit. */
  movsx64(dst: number, src: number, bits: 8 | 16 | 32): this {
    return this.op({ kind: 'alu', width: 64, op: 'movsx', dst, operand: { kind: 'reg', reg: src }, extendBits: bits });
  }
  neg64(dst: number): this {
    return this.op({ kind: 'alu', width: 64, op: 'neg', dst, operand: { kind: 'imm', value: 0 } });
  }
  /** Byte-order conversion: `le`/`be` (to that order from host) or unconditional `swap`. */
  endian(order: 'le' | 'be' | 'swap', dst: number, bits: 16 | 32 | 64): this {
    return this.op({ kind: 'endian', order, bits, dst });
  }

  /** Conditional jump to a label (64-bit compare). */
  jump(cond: CondName, dst: number, src: Src, target: string): this {
    return this.jumpAt(64, cond, dst, src, target);
  }
  /** Conditional jump to a label (32-bit compare). */
  jump32(cond: CondName, dst: number, src: Src, target: string): this {
    return this.jumpAt(32, cond, dst, src, target);
  }
  private jumpAt(width: 32 | 64, cond: CondName, dst: number, src: Src, target: string): this {
    this.fixups.push({ index: this.insns.length, label: target, field: 'off' });
    return this.op({ kind: 'jcond', width, cond, dst, operand: operand(src), off: 0 });
  }
  /** Unconditional jump; `long` uses the JMP32 gotol form with a 32-bit offset. */
  goto(target: string, long = false): this {
    this.fixups.push({ index: this.insns.length, label: target, field: long ? 'imm' : 'off' });
    return this.op({ kind: 'ja', off: 0, long });
  }
  mayGoto(target: string): this {
    this.fixups.push({ index: this.insns.length, label: target, field: 'off' });
    return this.op({ kind: 'may_goto', off: 0 });
  }

  /** Call a helper by id. */
  call(helperId: number): this {
    return this.op({ kind: 'call', target: 'helper', imm: helperId, btfFdIndex: 0 });
  }
  /** Call a bpf-to-bpf function at a label. */
  callLocal(target: string): this {
    this.fixups.push({ index: this.insns.length, label: target, field: 'imm' });
    return this.op({ kind: 'call', target: 'local', imm: 0, btfFdIndex: 0 });
  }
  /** Call a kernel function by BTF id (btfFdIndex 0 = vmlinux). */
  kfunc(btfId: number, btfFdIndex = 0): this {
    return this.op({ kind: 'call', target: 'kfunc', imm: btfId, btfFdIndex });
  }
  exit(): this {
    return this.op({ kind: 'exit' });
  }

  /** dst = 64-bit constant. */
  lddw(dst: number, value: bigint | number): this {
    const { imm, imm2 } = splitImm64(BigInt(value));
    return this.op({ kind: 'lddw', dst, pseudo: 'imm64', imm, imm2 });
  }
  /** dst = a pseudo lddw (map fd, map value, BTF id, ...). */
  lddwPseudo(dst: number, pseudo: PseudoLdName, imm: number, imm2 = 0): this {
    return this.op({ kind: 'lddw', dst, pseudo, imm, imm2 });
  }
  /** dst = &function at a label. */
  lddwFunc(dst: number, target: string): this {
    this.fixups.push({ index: this.insns.length, label: target, field: 'imm' });
    return this.op({ kind: 'lddw', dst, pseudo: 'func', imm: 0, imm2: 0 });
  }

  /** dst = *(size *)(src + off), sign-extended when `signed`. */
  load(size: MemSize, dst: number, src: number, off: number, signed = false): this {
    return this.op({ kind: 'load', size, signed, dst, src, off });
  }
  /** *(size *)(dst + off) = src register, or an immediate when src is a number wrapped by imm(). */
  store(size: MemSize, dst: number, off: number, src: Src): this {
    if (typeof src === 'number') return this.op({ kind: 'store_imm', size, dst, off, imm: src });
    return this.op({ kind: 'store', size, dst, src: src.reg, off });
  }
  atomic(op: AtomicName, size: 1 | 2 | 4 | 8, dst: number, off: number, src: number, fetch = false): this {
    return this.op({ kind: 'atomic', size, op, fetch: fetch || op === 'xchg' || op === 'cmpxchg', dst, src, off });
  }

  /**
   * Resolve labels and return the program.
   * @throws InstructionError for an undefined label or an offset that does not fit its field.
   */
  build(): Instruction[] {
    const out = this.insns.map((i) => ({ ...i }));
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new InstructionError(`jump to undefined label "${f.label}"`, this.slotOf[f.index]);
      const rel = target - (this.slotOf[f.index]! + 1);
      const i = out[f.index]!;
      if (f.field === 'off') {
        if (rel < -32768 || rel > 32767) {
          throw new InstructionError(`jump to "${f.label}" is ${rel} slots away, beyond the 16-bit offset (use a long goto)`, this.slotOf[f.index]);
        }
        i.off = rel;
      } else {
        i.imm = rel;
      }
    }
    return out;
  }
}

function operand(src: Src): Operand {
  return typeof src === 'number' ? { kind: 'imm', value: src } : { kind: 'reg', reg: src.reg };
}
