import type { AluName, AtomicOperation, CondName, LoadOperation, Operation, StoreOperation } from '../operation.js';
import { address, memory, reg, reg64, signedDistance, sizeType } from './operands.js';
import type { JumpTargetNamer } from './jump-targets.js';

/** What the llvm printer needs to know besides the operation itself. */
export interface LlvmPrintContext {
  /** Slot of the instruction (for jump target annotations). */
  slot: number;
  /** Symbols for `<label>` annotations after jumps, if any. */
  targets?: JumpTargetNamer;
  /**
   * Print as `llvm-objdump --mattr=+alu32` does: 32-bit loads and stores with `w`
   * registers, and text for every 32-bit atomic. Without it (llvm-objdump's default),
   * 32-bit atomics other than add have no text (`<unknown>`) and a 32-bit fetch-add
   * prints like a plain add: that is what llvm-objdump-19 does.
   */
  alu32: boolean;
}

/** The compound-assignment operator of each ALU operation, as LLVM spells it. */
export const ALU_OPERATORS: Record<Exclude<AluName, 'neg' | 'movsx' | 'addr_space_cast'>, string> = {
  add: '+=',
  sub: '-=',
  mul: '*=',
  div: '/=',
  sdiv: 's/=',
  or: '|=',
  and: '&=',
  lsh: '<<=',
  rsh: '>>=',
  mod: '%=',
  smod: 's%=',
  xor: '^=',
  mov: '=',
  arsh: 's>>=',
};

/** The comparison operator of each jump condition, as LLVM spells it. */
export const CONDITION_OPERATORS: Record<CondName, string> = {
  eq: '==',
  gt: '>',
  ge: '>=',
  set: '&',
  ne: '!=',
  sgt: 's>',
  sge: 's>=',
  lt: '<',
  le: '<=',
  slt: 's<',
  sle: 's<=',
};

const ATOMIC_OPERATORS: Record<'add' | 'or' | 'and' | 'xor', string> = { add: '+=', or: '|=', and: '&=', xor: '^=' };

/** llvm-objdump's text for an instruction it cannot decode. */
export const LLVM_UNKNOWN = '<unknown>';

/** `goto +3`, with ` <label>` when a symbol table is at hand. */
export function jumpTarget(distance: number, ctx: { slot: number; targets?: JumpTargetNamer }): string {
  const label = ctx.targets?.annotate(ctx.slot, distance);
  return label === undefined ? signedDistance(distance) : `${signedDistance(distance)} ${label}`;
}

/**
 * One instruction in the text of `llvm-objdump-19 -d --no-print-imm-hex`, including its
 * quirks (measured against the real tool): legacy `ldind` drops its immediate,
 * every lddw prints as `rN = IMM ll` (signed 64-bit) when its pseudo source is 0 and as
 * `ld_pseudo rN, SRC, IMM` otherwise, helper, local and kfunc calls all print as
 * `call IMM`. Load-acquire and store-release, which LLVM 19 cannot print, use LLVM 21's
 * text.
 */
export function formatLlvm(op: Operation, ctx: LlvmPrintContext): string {
  switch (op.kind) {
    case 'alu': {
      const d = reg(op.dst, op.width);
      if (op.op === 'neg') return `${d} = -${d}`;
      if (op.op === 'movsx') return `${d} = (s${op.extendBits})${reg(operandReg(op.operand), op.width)}`;
      if (op.op === 'addr_space_cast') {
        return `${d} = addr_space_cast(${reg64(operandReg(op.operand))}, ${op.addrSpace!.to}, ${op.addrSpace!.from})`;
      }
      const source = op.operand.kind === 'reg' ? reg(op.operand.reg, op.width) : `${op.operand.value}`;
      return `${d} ${ALU_OPERATORS[op.op]} ${source}`;
    }
    case 'endian': {
      const d = reg64(op.dst);
      return `${d} = ${op.order === 'swap' ? 'bswap' : op.order}${op.bits} ${d}`;
    }
    case 'jcond': {
      const source = op.operand.kind === 'reg' ? reg(op.operand.reg, op.width) : `${op.operand.value}`;
      return `if ${reg(op.dst, op.width)} ${CONDITION_OPERATORS[op.cond]} ${source} goto ${jumpTarget(op.off, ctx)}`;
    }
    case 'ja':
      return `${op.long ? 'gotol' : 'goto'} ${jumpTarget(op.off, ctx)}`;
    case 'may_goto':
      return `may_goto ${jumpTarget(op.off, ctx)}`;
    case 'call':
      return `call ${op.imm}`;
    case 'callx':
      return `callx ${reg64(op.reg)}`;
    case 'exit':
      return 'exit';
    case 'lddw':
      if (op.pseudo === 'imm64') return `${reg64(op.dst)} = ${lddwSigned(op.imm, op.imm2)} ll`;
      // LLVM prints the pseudo source number and the first immediate (unsigned) only.
      return `ld_pseudo ${reg64(op.dst)}, ${PSEUDO_NUMBERS[op.pseudo]}, ${op.imm >>> 0}`;
    case 'ldabs':
      return `r0 = *(${sizeType(op.size)} *)skb[${op.imm}]`;
    case 'ldind':
      return `r0 = *(${sizeType(op.size)} *)skb[${reg64(op.src)}]`;
    case 'load':
      return formatLoad(op, ctx.alu32);
    case 'store':
      return formatStore(op, ctx.alu32);
    case 'store_imm':
      return `${memory(op.size, op.dst, op.off)} = ${op.imm}`;
    case 'atomic':
      return formatAtomic(op, ctx.alu32);
  }
}

const PSEUDO_NUMBERS = { imm64: 0, map_fd: 1, map_value: 2, btf_id: 3, func: 4, map_idx: 5, map_idx_value: 6 } as const;

function operandReg(operand: { kind: 'reg'; reg: number } | { kind: 'imm'; value: number }): number {
  return operand.kind === 'reg' ? operand.reg : 0;
}

/** The 64-bit constant imm2:imm as a signed decimal, as LLVM prints lddw. */
export function lddwSigned(imm: number, imm2: number): string {
  return BigInt.asIntN(64, (BigInt(imm2) << 32n) | BigInt(imm >>> 0)).toString();
}

/** The 64-bit constant imm2:imm as an unsigned decimal. */
export function lddwUnsigned(imm: number, imm2: number): string {
  return BigInt.asUintN(64, (BigInt(imm2) << 32n) | BigInt(imm >>> 0)).toString();
}

function formatLoad(op: LoadOperation, alu32: boolean): string {
  // Sign-extending loads always target a 64-bit register; zero-extending loads narrower
  // than 64 bits use a w register only under alu32.
  const width = alu32 && op.size < 8 && !op.signed ? 32 : 64;
  return `${reg(op.dst, width)} = ${memory(op.size, op.src, op.off, op.signed)}`;
}

function formatStore(op: StoreOperation, alu32: boolean): string {
  const width = alu32 && op.size < 8 ? 32 : 64;
  return `${memory(op.size, op.dst, op.off)} = ${reg(op.src, width)}`;
}

/**
 * Atomics. LLVM 19 without alu32 decodes a 32-bit atomic only as a plain add, whatever
 * its fetch bit; other 32-bit atomics have no text.
 */
export function formatAtomic(op: AtomicOperation, alu32: boolean): string {
  const ptr = `(${sizeType(op.size)} *)(${address(op.dst, op.off)})`;
  // LLVM 21's text, where the 8-, 16- and 32-bit forms exist only with w registers.
  const valueWidth = op.size === 8 ? 64 : 32;
  // load-acquire reads from src + off into dst (the kernel's encoding), unlike other atomics.
  if (op.op === 'load_acquire') return `${reg(op.dst, valueWidth)} = load_acquire((${sizeType(op.size)} *)(${address(op.src, op.off)}))`;
  if (op.op === 'store_release') return `store_release(${ptr}, ${reg(op.src, valueWidth)})`;
  if (op.size === 4 && !alu32) {
    return op.op === 'add' ? `lock *(u32 *)(${address(op.dst, op.off)}) += ${reg64(op.src)}` : LLVM_UNKNOWN;
  }
  const width = op.size === 8 ? 64 : 32;
  const s = reg(op.src, width);
  switch (op.op) {
    case 'xchg':
      return `${s} = xchg${width === 64 ? '' : '32'}_${width}(${address(op.dst, op.off)}, ${s})`;
    case 'cmpxchg':
      return `${reg(0, width)} = cmpxchg${width === 64 ? '' : '32'}_${width}(${address(op.dst, op.off)}, ${reg(0, width)}, ${s})`;
    default:
      if (op.fetch) return `${s} = atomic_fetch_${op.op}(${ptr}, ${s})`;
      return `lock *${ptr} ${ATOMIC_OPERATORS[op.op]} ${s}`;
  }
}
