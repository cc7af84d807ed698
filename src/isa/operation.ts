import { InstructionError } from './errors.js';
import type { Instruction } from './instruction.js';
import {
  AluOp,
  AtomicOp,
  Class,
  JmpOp,
  MAY_GOTO_SRC,
  Mode,
  OP_LDDW,
  PseudoCall,
  PseudoLd,
  Source,
  opClass,
  opCode,
  opMode,
  opSize,
  opSource,
  sizeBytes,
} from './opcodes.js';

/**
 * The typed meaning of an {@link Instruction}: what it does, with every field it uses
 * and none it does not. Produced by {@link operationOf}, which is also the one place
 * that decides whether an instruction is well formed (known opcode, reserved fields
 * zero), using the kernel verifier's rules.
 */
export type Operation =
  | AluOperation
  | EndianOperation
  | CondJumpOperation
  | JaOperation
  | MayGotoOperation
  | CallOperation
  | CallxOperation
  | ExitOperation
  | LddwOperation
  | PacketLoadOperation
  | LoadOperation
  | StoreImmOperation
  | StoreOperation
  | AtomicOperation;

export type AluName =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'sdiv'
  | 'or'
  | 'and'
  | 'lsh'
  | 'rsh'
  | 'neg'
  | 'mod'
  | 'smod'
  | 'xor'
  | 'mov'
  | 'movsx'
  | 'arsh'
  | 'addr_space_cast';

/** A register or an immediate operand. */
export type Operand = { kind: 'reg'; reg: number } | { kind: 'imm'; value: number };

export interface AluOperation {
  kind: 'alu';
  width: 32 | 64;
  op: AluName;
  dst: number;
  /** Second operand; for `neg` it is the unused immediate 0. */
  operand: Operand;
  /** movsx: the width sign-extended from; addr_space_cast: unused. */
  extendBits?: 8 | 16 | 32;
  /** addr_space_cast: destination and source address spaces. */
  addrSpace?: { to: number; from: number };
}

export interface EndianOperation {
  kind: 'endian';
  /** `le`/`be` convert from host order (ALU class); `swap` always swaps (ALU64, v4 bswap). */
  order: 'le' | 'be' | 'swap';
  bits: 16 | 32 | 64;
  dst: number;
}

export type CondName = 'eq' | 'gt' | 'ge' | 'set' | 'ne' | 'sgt' | 'sge' | 'lt' | 'le' | 'slt' | 'sle';

export interface CondJumpOperation {
  kind: 'jcond';
  width: 32 | 64;
  cond: CondName;
  dst: number;
  operand: Operand;
  /** Slots to skip, relative to the next instruction. */
  off: number;
}

export interface JaOperation {
  kind: 'ja';
  /** Slots to skip relative to the next instruction: `off` for JMP, `imm` for JMP32 (gotol). */
  off: number;
  /** JMP32 `gotol`, whose offset is 32-bit. */
  long: boolean;
}

export interface MayGotoOperation {
  kind: 'may_goto';
  off: number;
}

export interface CallOperation {
  kind: 'call';
  target: 'helper' | 'local' | 'kfunc';
  /** Helper id, slot offset to a local function (relative to the next instruction), or kfunc BTF id. */
  imm: number;
  /** kfunc only: index of the module BTF fd (0 = vmlinux). */
  btfFdIndex: number;
}

/** Call through a register (bpf_conformance's `callx`; Linux rejects it). */
export interface CallxOperation {
  kind: 'callx';
  reg: number;
}

export interface ExitOperation {
  kind: 'exit';
}

export type PseudoLdName = 'imm64' | 'map_fd' | 'map_value' | 'btf_id' | 'func' | 'map_idx' | 'map_idx_value';

export interface LddwOperation {
  kind: 'lddw';
  dst: number;
  pseudo: PseudoLdName;
  /** First slot's immediate: the low half, a map fd/index, a BTF id or a function offset. */
  imm: number;
  /** Second slot's immediate: the high half, or the offset into a map value. */
  imm2: number;
}

/** Legacy packet access: `r0 = ntoh(*(size *)(skb->data + imm [+ src]))`. */
export interface PacketLoadOperation {
  kind: 'ldabs' | 'ldind';
  size: 1 | 2 | 4 | 8;
  /** ldind only: register added to the offset. */
  src: number;
  imm: number;
}

export interface LoadOperation {
  kind: 'load';
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  dst: number;
  src: number;
  off: number;
}

export interface StoreImmOperation {
  kind: 'store_imm';
  size: 1 | 2 | 4 | 8;
  dst: number;
  off: number;
  imm: number;
}

export interface StoreOperation {
  kind: 'store';
  size: 1 | 2 | 4 | 8;
  dst: number;
  src: number;
  off: number;
}

export type AtomicName = 'add' | 'or' | 'and' | 'xor' | 'xchg' | 'cmpxchg' | 'load_acquire' | 'store_release';

export interface AtomicOperation {
  kind: 'atomic';
  size: 1 | 2 | 4 | 8;
  op: AtomicName;
  /** The old value is returned (in src, or r0 for cmpxchg). Always true for xchg/cmpxchg. */
  fetch: boolean;
  dst: number;
  src: number;
  off: number;
}

const ALU_NAMES: Record<number, AluName> = {
  [AluOp.ADD]: 'add',
  [AluOp.SUB]: 'sub',
  [AluOp.MUL]: 'mul',
  [AluOp.DIV]: 'div',
  [AluOp.OR]: 'or',
  [AluOp.AND]: 'and',
  [AluOp.LSH]: 'lsh',
  [AluOp.RSH]: 'rsh',
  [AluOp.NEG]: 'neg',
  [AluOp.MOD]: 'mod',
  [AluOp.XOR]: 'xor',
  [AluOp.MOV]: 'mov',
  [AluOp.ARSH]: 'arsh',
};

const COND_NAMES: Record<number, CondName> = {
  [JmpOp.JEQ]: 'eq',
  [JmpOp.JGT]: 'gt',
  [JmpOp.JGE]: 'ge',
  [JmpOp.JSET]: 'set',
  [JmpOp.JNE]: 'ne',
  [JmpOp.JSGT]: 'sgt',
  [JmpOp.JSGE]: 'sge',
  [JmpOp.JLT]: 'lt',
  [JmpOp.JLE]: 'le',
  [JmpOp.JSLT]: 'slt',
  [JmpOp.JSLE]: 'sle',
};

const PSEUDO_LD_NAMES: Record<number, PseudoLdName> = {
  [PseudoLd.IMM64]: 'imm64',
  [PseudoLd.MAP_FD]: 'map_fd',
  [PseudoLd.MAP_VALUE]: 'map_value',
  [PseudoLd.BTF_ID]: 'btf_id',
  [PseudoLd.FUNC]: 'func',
  [PseudoLd.MAP_IDX]: 'map_idx',
  [PseudoLd.MAP_IDX_VALUE]: 'map_idx_value',
};

const ATOMIC_NAMES: Record<number, { op: AtomicName; fetch: boolean }> = {
  [AtomicOp.ADD]: { op: 'add', fetch: false },
  [AtomicOp.OR]: { op: 'or', fetch: false },
  [AtomicOp.AND]: { op: 'and', fetch: false },
  [AtomicOp.XOR]: { op: 'xor', fetch: false },
  [AtomicOp.ADD | AtomicOp.FETCH]: { op: 'add', fetch: true },
  [AtomicOp.OR | AtomicOp.FETCH]: { op: 'or', fetch: true },
  [AtomicOp.AND | AtomicOp.FETCH]: { op: 'and', fetch: true },
  [AtomicOp.XOR | AtomicOp.FETCH]: { op: 'xor', fetch: true },
  [AtomicOp.XCHG]: { op: 'xchg', fetch: true },
  [AtomicOp.CMPXCHG]: { op: 'cmpxchg', fetch: true },
  [AtomicOp.LOAD_ACQ]: { op: 'load_acquire', fetch: false },
  [AtomicOp.STORE_REL]: { op: 'store_release', fetch: false },
};

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(2, '0')}`;
}

function fail(insn: Instruction, reason: string): never {
  throw new InstructionError(`${reason} (opcode ${hex(insn.code)}, dst r${insn.dst}, src r${insn.src}, off ${insn.off}, imm ${insn.imm})`);
}

function reserved(insn: Instruction, what: string, fields: string): never {
  fail(insn, `${what} uses reserved fields: ${fields} must be 0`);
}

function checkRegs(insn: Instruction, useDst: boolean, useSrc: boolean): void {
  if (useDst && insn.dst > 10) fail(insn, `invalid destination register r${insn.dst} (registers are r0-r10)`);
  if (useSrc && insn.src > 10) fail(insn, `invalid source register r${insn.src} (registers are r0-r10)`);
}

/**
 * The typed meaning of one instruction.
 *
 * @throws InstructionError for an unknown opcode, a reserved field that is not zero, or a
 *   register number above r10. The error carries no location: callers that know the slot
 *   locate it with {@link InstructionError.at}.
 */
export function operationOf(insn: Instruction): Operation {
  switch (opClass(insn.code)) {
    case Class.ALU:
    case Class.ALU64:
      return aluOperation(insn);
    case Class.JMP:
    case Class.JMP32:
      return jumpOperation(insn);
    case Class.LD:
      return ldOperation(insn);
    case Class.LDX:
      return ldxOperation(insn);
    case Class.ST:
      return stOperation(insn);
    case Class.STX:
      return stxOperation(insn);
  }
  /* c8 ignore next */
  fail(insn, 'unknown instruction class');
}

function aluOperation(insn: Instruction): Operation {
  const width = opClass(insn.code) === Class.ALU64 ? 64 : 32;
  const code = opCode(insn.code);
  const isReg = opSource(insn.code) === Source.X;
  if (code === AluOp.END) {
    if (insn.src !== 0 || insn.off !== 0) reserved(insn, 'byte swap', 'src and off');
    if (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) fail(insn, `byte swap width must be 16, 32 or 64, not ${insn.imm}`);
    if (width === 64 && isReg) fail(insn, 'unknown opcode: 64-bit byte swap (bswap) only exists with the to-le source bit clear');
    checkRegs(insn, true, false);
    return { kind: 'endian', order: width === 64 ? 'swap' : isReg ? 'be' : 'le', bits: insn.imm as 16 | 32 | 64, dst: insn.dst };
  }
  const name = ALU_NAMES[code];
  if (name === undefined) fail(insn, 'unknown ALU opcode');
  if (code === AluOp.NEG) {
    if (isReg || insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) reserved(insn, 'neg', 'the source bit, src, off and imm');
    checkRegs(insn, true, false);
    return { kind: 'alu', width, op: 'neg', dst: insn.dst, operand: { kind: 'imm', value: 0 } };
  }
  if (code === AluOp.MOV) {
    if (isReg) {
      if (insn.imm !== 0 && !(width === 64 && insn.off === 1)) reserved(insn, 'mov', 'imm');
      if (width === 64 && insn.off === 1) {
        // BPF_ADDR_SPACE_CAST: imm = (dst_as << 16) | src_as, only 1->0 or 0->1.
        if (insn.imm !== 1 && insn.imm !== 1 << 16) fail(insn, 'addr_space_cast can only convert between address spaces 1 and 0');
        checkRegs(insn, true, true);
        return {
          kind: 'alu',
          width,
          op: 'addr_space_cast',
          dst: insn.dst,
          operand: { kind: 'reg', reg: insn.src },
          addrSpace: { to: insn.imm >>> 16, from: insn.imm & 0xffff },
        };
      }
      const allowed = width === 64 ? [0, 8, 16, 32] : [0, 8, 16];
      if (!allowed.includes(insn.off)) fail(insn, `mov${width === 32 ? '32' : ''} sign-extension width off=${insn.off} is not one of ${allowed.join(', ')}`);
      checkRegs(insn, true, true);
      if (insn.off !== 0) {
        return { kind: 'alu', width, op: 'movsx', dst: insn.dst, operand: { kind: 'reg', reg: insn.src }, extendBits: insn.off as 8 | 16 | 32 };
      }
      return { kind: 'alu', width, op: 'mov', dst: insn.dst, operand: { kind: 'reg', reg: insn.src } };
    }
    if (insn.src !== 0 || insn.off !== 0) reserved(insn, 'mov with immediate', 'src and off');
    checkRegs(insn, true, false);
    return { kind: 'alu', width, op: 'mov', dst: insn.dst, operand: { kind: 'imm', value: insn.imm } };
  }
  const signedOk = code === AluOp.DIV || code === AluOp.MOD;
  if (insn.off !== 0 && !(insn.off === 1 && signedOk)) {
    reserved(insn, name, signedOk ? 'off (other than 1 for the signed form)' : 'off');
  }
  if (isReg) {
    if (insn.imm !== 0) reserved(insn, `${name} with register source`, 'imm');
  } else if (insn.src !== 0) {
    reserved(insn, `${name} with immediate`, 'src');
  }
  checkRegs(insn, true, isReg);
  const op: AluName = insn.off === 1 ? (code === AluOp.DIV ? 'sdiv' : 'smod') : name;
  return { kind: 'alu', width, op, dst: insn.dst, operand: isReg ? { kind: 'reg', reg: insn.src } : { kind: 'imm', value: insn.imm } };
}

function jumpOperation(insn: Instruction): Operation {
  const is32 = opClass(insn.code) === Class.JMP32;
  const code = opCode(insn.code);
  const isReg = opSource(insn.code) === Source.X;
  switch (code) {
    case JmpOp.JA:
      if (isReg || insn.src !== 0 || insn.dst !== 0) reserved(insn, 'goto', 'the source bit, src and dst');
      if (is32) {
        if (insn.off !== 0) reserved(insn, 'gotol', 'off');
        return { kind: 'ja', off: insn.imm, long: true };
      }
      if (insn.imm !== 0) reserved(insn, 'goto', 'imm');
      return { kind: 'ja', off: insn.off, long: false };
    case JmpOp.CALL:
      if (is32) fail(insn, 'unknown opcode: call does not exist in the JMP32 class');
      if (isReg) {
        // callx: the target register sits in dst (LLVM's encoding, bpf_conformance's too).
        if (insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) reserved(insn, 'callx', 'src, off and imm');
        checkRegs(insn, true, false);
        return { kind: 'callx', reg: insn.dst };
      }
      if (insn.dst !== 0) reserved(insn, 'call', 'dst');
      if (insn.src === PseudoCall.HELPER || insn.src === PseudoCall.LOCAL) {
        if (insn.off !== 0) reserved(insn, 'call', 'off');
        return { kind: 'call', target: insn.src === PseudoCall.HELPER ? 'helper' : 'local', imm: insn.imm, btfFdIndex: 0 };
      }
      if (insn.src === PseudoCall.KFUNC) return { kind: 'call', target: 'kfunc', imm: insn.imm, btfFdIndex: insn.off };
      fail(insn, `unknown call kind src=${insn.src} (0 = helper, 1 = local function, 2 = kfunc)`);
    // eslint-disable-next-line no-fallthrough
    case JmpOp.EXIT:
      if (is32) fail(insn, 'unknown opcode: exit does not exist in the JMP32 class');
      if (isReg || insn.src !== 0 || insn.dst !== 0 || insn.off !== 0 || insn.imm !== 0) reserved(insn, 'exit', 'the source bit, src, dst, off and imm');
      return { kind: 'exit' };
    case JmpOp.JCOND:
      if (is32 || isReg) fail(insn, 'unknown jump opcode');
      if (insn.src !== MAY_GOTO_SRC) fail(insn, `unknown conditional pseudo-jump src=${insn.src} (only may_goto, src=0, exists)`);
      if (insn.dst !== 0 || insn.imm !== 0) reserved(insn, 'may_goto', 'dst and imm');
      return { kind: 'may_goto', off: insn.off };
  }
  const cond = COND_NAMES[code];
  if (cond === undefined) fail(insn, 'unknown jump opcode');
  if (isReg) {
    if (insn.imm !== 0) reserved(insn, `conditional jump with register source`, 'imm');
  } else if (insn.src !== 0) {
    reserved(insn, 'conditional jump with immediate', 'src');
  }
  checkRegs(insn, true, isReg);
  return {
    kind: 'jcond',
    width: is32 ? 32 : 64,
    cond,
    dst: insn.dst,
    operand: isReg ? { kind: 'reg', reg: insn.src } : { kind: 'imm', value: insn.imm },
    off: insn.off,
  };
}

function ldOperation(insn: Instruction): Operation {
  const mode = opMode(insn.code);
  if (insn.code === OP_LDDW) {
    if (insn.off !== 0) reserved(insn, 'lddw', 'off');
    const pseudo = PSEUDO_LD_NAMES[insn.src];
    if (pseudo === undefined) fail(insn, `unknown lddw pseudo source src=${insn.src} (0-6 exist)`);
    checkRegs(insn, true, false);
    return { kind: 'lddw', dst: insn.dst, pseudo, imm: insn.imm, imm2: insn.imm2 ?? 0 };
  }
  if (mode === Mode.ABS || mode === Mode.IND) {
    const size = sizeBytes(opSize(insn.code));
    if (size === 8) fail(insn, 'unknown opcode: legacy packet loads have no 8-byte form');
    if (insn.dst !== 0 || insn.off !== 0) reserved(insn, 'legacy packet load', 'dst and off');
    if (mode === Mode.ABS && insn.src !== 0) reserved(insn, 'ldabs', 'src');
    checkRegs(insn, false, true);
    return { kind: mode === Mode.ABS ? 'ldabs' : 'ldind', size, src: insn.src, imm: insn.imm };
  }
  fail(insn, 'unknown opcode in the LD class');
}

function ldxOperation(insn: Instruction): Operation {
  const mode = opMode(insn.code);
  const size = sizeBytes(opSize(insn.code));
  if (mode !== Mode.MEM && mode !== Mode.MEMSX) fail(insn, 'unknown opcode in the LDX class');
  if (mode === Mode.MEMSX && size === 8) fail(insn, 'unknown opcode: there is no sign-extending 8-byte load');
  if (insn.imm !== 0) reserved(insn, 'load', 'imm');
  checkRegs(insn, true, true);
  return { kind: 'load', size, signed: mode === Mode.MEMSX, dst: insn.dst, src: insn.src, off: insn.off };
}

function stOperation(insn: Instruction): Operation {
  if (opMode(insn.code) !== Mode.MEM) fail(insn, 'unknown opcode in the ST class');
  if (insn.src !== 0) reserved(insn, 'store of an immediate', 'src');
  checkRegs(insn, true, false);
  return { kind: 'store_imm', size: sizeBytes(opSize(insn.code)), dst: insn.dst, off: insn.off, imm: insn.imm };
}

function stxOperation(insn: Instruction): Operation {
  const mode = opMode(insn.code);
  const size = sizeBytes(opSize(insn.code));
  checkRegs(insn, true, true);
  if (mode === Mode.MEM) {
    if (insn.imm !== 0) reserved(insn, 'store', 'imm');
    return { kind: 'store', size, dst: insn.dst, src: insn.src, off: insn.off };
  }
  if (mode !== Mode.ATOMIC) fail(insn, 'unknown opcode in the STX class');
  const atomic = ATOMIC_NAMES[insn.imm];
  if (atomic === undefined) fail(insn, `unknown atomic operation imm=${hex(insn.imm)}`);
  const ordering = atomic.op === 'load_acquire' || atomic.op === 'store_release';
  if (!ordering && size !== 4 && size !== 8) fail(insn, 'atomic read-modify-write exists only for 4 and 8 bytes');
  return { kind: 'atomic', size, op: atomic.op, fetch: atomic.fetch, dst: insn.dst, src: insn.src, off: insn.off };
}

/** Is this a well-formed instruction? (The non-throwing form of {@link operationOf}.) */
export function isValidInstruction(insn: Instruction): boolean {
  try {
    operationOf(insn);
    return true;
  } catch {
    return false;
  }
}
