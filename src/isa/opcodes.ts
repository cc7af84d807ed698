/**
 * eBPF opcode fields (RFC 9669 plus the Linux additions), as the kernel's
 * include/uapi/linux/bpf_common.h and bpf.h name them.
 *
 * An opcode byte is `class` (low 3 bits) plus class-specific fields:
 * - ALU/ALU64/JMP/JMP32: `op` (high 4 bits) | `source` (bit 3) | class
 * - LD/LDX/ST/STX:       `mode` (high 3 bits) | `size` (bits 3-4) | class
 */

/** Instruction class: the low three bits of the opcode. */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;
export type ClassValue = (typeof Class)[keyof typeof Class];

/** Operand source for ALU and JMP classes (bit 3). For END it selects to-le (K) / to-be (X). */
export const Source = {
  K: 0x00,
  X: 0x08,
} as const;

/** ALU operation, high four bits of the opcode. */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;
export type AluOpValue = (typeof AluOp)[keyof typeof AluOp];

/** Jump operation, high four bits of the opcode. */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** Conditional pseudo-jump (`may_goto` when src_reg = 0). */
  JCOND: 0xe0,
} as const;
export type JmpOpValue = (typeof JmpOp)[keyof typeof JmpOp];

/** `may_goto` is `BPF_JMP | BPF_JCOND` (0xe5) with src_reg = BPF_MAY_GOTO (0). */
export const MAY_GOTO_SRC = 0;

/** Memory access size, bits 3-4 of a load/store opcode. */
export const Size = {
  W: 0x00,
  H: 0x08,
  B: 0x10,
  DW: 0x18,
} as const;
export type SizeValue = (typeof Size)[keyof typeof Size];

/** Memory access mode, high three bits of a load/store opcode. */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  /** Sign-extending load (LDX only, v4). */
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;
export type ModeValue = (typeof Mode)[keyof typeof Mode];

/** Atomic operations, held in the imm field of a `STX | ATOMIC` instruction. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  /** Flag: the old value is returned in src. */
  FETCH: 0x01,
  /** Exchange, always with FETCH. */
  XCHG: 0xe0 | 0x01,
  /** Compare-and-exchange, always with FETCH: compares r0 with memory. */
  CMPXCHG: 0xf0 | 0x01,
  /** Load-acquire (Linux 6.15): dst = smp_load_acquire(src + off). */
  LOAD_ACQ: 0x100,
  /** Store-release (Linux 6.15): smp_store_release(dst + off, src). */
  STORE_REL: 0x110,
} as const;

/** lddw (BPF_LD | BPF_IMM | BPF_DW) pseudo sources, held in src_reg. */
export const PseudoLd = {
  IMM64: 0,
  /** imm = map fd */
  MAP_FD: 1,
  /** imm = map fd, next imm = offset into the value */
  MAP_VALUE: 2,
  /** imm = BTF id of a kernel variable (ksym) */
  BTF_ID: 3,
  /** imm = instruction offset of a subprogram: r = &func */
  FUNC: 4,
  /** imm = index into the fd_array */
  MAP_IDX: 5,
  /** imm = index into the fd_array, next imm = offset into the value */
  MAP_IDX_VALUE: 6,
} as const;
export type PseudoLdValue = (typeof PseudoLd)[keyof typeof PseudoLd];

/** call (BPF_JMP | BPF_CALL) kinds, held in src_reg. */
export const PseudoCall = {
  /** imm = helper id */
  HELPER: 0,
  /** imm = relative offset to a bpf-to-bpf function */
  LOCAL: 1,
  /** imm = BTF id of a kernel function, off = BTF fd index (0 = vmlinux) */
  KFUNC: 2,
} as const;

/** The 8-byte width of one instruction slot. */
export const INSN_SIZE = 8;

/** Number of general registers r0-r10. */
export const REG_COUNT = 11;
/** The read-only frame pointer register. */
export const REG_FP = 10;

/** Opcode byte of `lddw` (BPF_LD | BPF_IMM | BPF_DW). */
export const OP_LDDW = Class.LD | Mode.IMM | Size.DW;
/** Opcode byte of `call`. */
export const OP_CALL = Class.JMP | JmpOp.CALL;
/** Opcode byte of `exit`. */
export const OP_EXIT = Class.JMP | JmpOp.EXIT;
/** Opcode byte of `callx` (call through a register; bpf_conformance, not Linux). */
export const OP_CALLX = Class.JMP | JmpOp.CALL | Source.X;

export function opClass(opcode: number): ClassValue {
  return (opcode & 0x07) as ClassValue;
}
export function opSize(opcode: number): SizeValue {
  return (opcode & 0x18) as SizeValue;
}
export function opMode(opcode: number): ModeValue {
  return (opcode & 0xe0) as ModeValue;
}
export function opCode(opcode: number): number {
  return opcode & 0xf0;
}
export function opSource(opcode: number): number {
  return opcode & 0x08;
}

/** Byte width of a size field value. */
export function sizeBytes(size: SizeValue): 1 | 2 | 4 | 8 {
  switch (size) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
    default:
      return 8;
  }
}
