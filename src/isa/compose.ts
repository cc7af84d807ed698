import { insn, type Instruction } from './instruction.js';
import {
  AluOp,
  AtomicOp,
  Class,
  JmpOp,
  Mode,
  OP_CALL,
  OP_CALLX,
  OP_EXIT,
  OP_LDDW,
  PseudoCall,
  PseudoLd,
  Size,
  Source,
  type SizeValue,
} from './opcodes.js';
import type { AluName, AtomicName, CondName, Operation, PseudoLdName } from './operation.js';
import { operationOf } from './operation.js';

const ALU_CODES: Record<Exclude<AluName, 'sdiv' | 'smod' | 'movsx' | 'addr_space_cast'>, number> = {
  add: AluOp.ADD,
  sub: AluOp.SUB,
  mul: AluOp.MUL,
  div: AluOp.DIV,
  or: AluOp.OR,
  and: AluOp.AND,
  lsh: AluOp.LSH,
  rsh: AluOp.RSH,
  neg: AluOp.NEG,
  mod: AluOp.MOD,
  xor: AluOp.XOR,
  mov: AluOp.MOV,
  arsh: AluOp.ARSH,
};

export const COND_CODES: Record<CondName, number> = {
  eq: JmpOp.JEQ,
  gt: JmpOp.JGT,
  ge: JmpOp.JGE,
  set: JmpOp.JSET,
  ne: JmpOp.JNE,
  sgt: JmpOp.JSGT,
  sge: JmpOp.JSGE,
  lt: JmpOp.JLT,
  le: JmpOp.JLE,
  slt: JmpOp.JSLT,
  sle: JmpOp.JSLE,
};

const PSEUDO_LD_CODES: Record<PseudoLdName, number> = {
  imm64: PseudoLd.IMM64,
  map_fd: PseudoLd.MAP_FD,
  map_value: PseudoLd.MAP_VALUE,
  btf_id: PseudoLd.BTF_ID,
  func: PseudoLd.FUNC,
  map_idx: PseudoLd.MAP_IDX,
  map_idx_value: PseudoLd.MAP_IDX_VALUE,
};

const ATOMIC_CODES: Record<AtomicName, number> = {
  add: AtomicOp.ADD,
  or: AtomicOp.OR,
  and: AtomicOp.AND,
  xor: AtomicOp.XOR,
  xchg: AtomicOp.XCHG,
  cmpxchg: AtomicOp.CMPXCHG,
  load_acquire: AtomicOp.LOAD_ACQ,
  store_release: AtomicOp.STORE_REL,
};

/** Size field for a byte width. */
export function sizeField(bytes: 1 | 2 | 4 | 8): SizeValue {
  return bytes === 1 ? Size.B : bytes === 2 ? Size.H : bytes === 4 ? Size.W : Size.DW;
}

/**
 * The wire instruction for an operation: the inverse of {@link operationOf}.
 * The result is checked with operationOf, so an impossible operation (a 64-bit
 * sign-extending load, an 8-byte atomic-or on a byte, ...) throws InstructionError.
 */
export function instructionOf(op: Operation): Instruction {
  const out = rawInstructionOf(op);
  operationOf(out);
  return out;
}

function rawInstructionOf(op: Operation): Instruction {
  switch (op.kind) {
    case 'alu': {
      const cls = op.width === 64 ? Class.ALU64 : Class.ALU;
      const isReg = op.operand.kind === 'reg';
      const srcBit = isReg ? Source.X : Source.K;
      const src = op.operand.kind === 'reg' ? op.operand.reg : 0;
      const imm = op.operand.kind === 'imm' ? op.operand.value : 0;
      switch (op.op) {
        case 'sdiv':
          return insn(cls | AluOp.DIV | srcBit, op.dst, src, 1, imm);
        case 'smod':
          return insn(cls | AluOp.MOD | srcBit, op.dst, src, 1, imm);
        case 'movsx':
          return insn(cls | AluOp.MOV | Source.X, op.dst, src, op.extendBits ?? 0, 0);
        case 'addr_space_cast':
          return insn(Class.ALU64 | AluOp.MOV | Source.X, op.dst, src, 1, ((op.addrSpace?.to ?? 0) << 16) | (op.addrSpace?.from ?? 0));
        case 'neg':
          return insn(cls | AluOp.NEG, op.dst);
        default:
          return insn(cls | ALU_CODES[op.op] | srcBit, op.dst, src, 0, imm);
      }
    }
    case 'endian':
      if (op.order === 'swap') return insn(Class.ALU64 | AluOp.END | Source.K, op.dst, 0, 0, op.bits);
      return insn(Class.ALU | AluOp.END | (op.order === 'be' ? Source.X : Source.K), op.dst, 0, 0, op.bits);
    case 'jcond': {
      const cls = op.width === 64 ? Class.JMP : Class.JMP32;
      if (op.operand.kind === 'reg') return insn(cls | COND_CODES[op.cond] | Source.X, op.dst, op.operand.reg, op.off, 0);
      return insn(cls | COND_CODES[op.cond] | Source.K, op.dst, 0, op.off, op.operand.value);
    }
    case 'ja':
      return op.long ? insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, op.off) : insn(Class.JMP | JmpOp.JA, 0, 0, op.off, 0);
    case 'may_goto':
      return insn(Class.JMP | JmpOp.JCOND, 0, 0, op.off, 0);
    case 'call': {
      const src = op.target === 'helper' ? PseudoCall.HELPER : op.target === 'local' ? PseudoCall.LOCAL : PseudoCall.KFUNC;
      return insn(OP_CALL, 0, src, op.target === 'kfunc' ? op.btfFdIndex : 0, op.imm);
    }
    case 'callx':
      return insn(OP_CALLX, op.reg);
    case 'exit':
      return insn(OP_EXIT);
    case 'lddw':
      return insn(OP_LDDW, op.dst, PSEUDO_LD_CODES[op.pseudo], 0, op.imm, op.imm2);
    case 'ldabs':
      return insn(Class.LD | Mode.ABS | sizeField(op.size), 0, 0, 0, op.imm);
    case 'ldind':
      return insn(Class.LD | Mode.IND | sizeField(op.size), 0, op.src, 0, op.imm);
    case 'load':
      return insn(Class.LDX | (op.signed ? Mode.MEMSX : Mode.MEM) | sizeField(op.size), op.dst, op.src, op.off, 0);
    case 'store_imm':
      return insn(Class.ST | Mode.MEM | sizeField(op.size), op.dst, 0, op.off, op.imm);
    case 'store':
      return insn(Class.STX | Mode.MEM | sizeField(op.size), op.dst, op.src, op.off, 0);
    case 'atomic': {
      let imm = ATOMIC_CODES[op.op];
      if (op.fetch && (op.op === 'add' || op.op === 'or' || op.op === 'and' || op.op === 'xor')) imm |= AtomicOp.FETCH;
      return insn(Class.STX | Mode.ATOMIC | sizeField(op.size), op.dst, op.src, op.off, imm);
    }
  }
}
