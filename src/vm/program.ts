import { InstructionError } from '../isa/errors.js';
import type { Instruction } from '../isa/instruction.js';
import { OP_LDDW } from '../isa/opcodes.js';
import { operationOf, type Operation } from '../isa/operation.js';
import { VmLoadError } from './errors.js';
import type { HelperFn, HelperTable } from './helpers/helper.js';
import { dispatchWords } from './fusion.js';
import { Op } from './internal-ops.js';
import type { Pointer, Region } from './memory.js';

/** Kernel limits the vm enforces. */
export const MAX_BPF_STACK = 512;
export const MAX_CALL_FRAMES = 8;
export const MAX_TAIL_CALL_CNT = 33;
/** Per-frame stack budget when a program mixes bpf-to-bpf calls and tail calls. */
export const MAX_STACK_WITH_TAIL_CALLS = 256;
/** Iterations a may_goto allows per frame (BPF_MAX_LOOPS). */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;

const HELPER_TAIL_CALL = 12;

/**
 * A program pre-decoded for the interpreter: one entry per 8-byte slot in parallel typed
 * arrays, with jump targets made absolute, variants given their own internal opcode
 * ({@link Op}), lddw constants resolved (maps, map values, functions) and helpers bound.
 */
export interface DecodedCode {
  ops: Uint16Array;
  dst: Uint8Array;
  src: Uint8Array;
  /** Memory offset, or absolute target slot for jumps and local calls. */
  off: Int32Array;
  /** Immediate, or the low word of an lddw constant. */
  imm: Int32Array;
  /** High word of an lddw constant. */
  imm2: Int32Array;
  /** Bound helper per call slot. */
  helpers: (HelperFn | undefined)[];
  /**
   * What the interpreter dispatches on: per slot `op | dst << 12 | src << 16`, the op
   * being `ops` with superinstructions (see fusion.ts).
   */
  words: Int32Array;
  /** Number of real slots (the arrays have one more: a trap sentinel). */
  length: number;
}

/** A program the vm can run. */
export interface LoadedProgram {
  readonly name: string;
  /** `enum bpf_prog_type`. */
  readonly type: number;
  readonly code: DecodedCode;
  /** Stack bytes each function uses, rounded as the kernel rounds; indexed by entry slot. */
  readonly stackDepth: ReadonlyMap<number, number>;
  /** The same, as an array indexed by slot (0 where no function starts). */
  readonly frameDepth: Int32Array;
  /** Does it call bpf_tail_call? */
  readonly usesTailCalls: boolean;
  /** The original instructions. */
  readonly instructions: readonly Instruction[];
  /** The helper table it was bound against (for callx by id). */
  readonly helperTable: HelperTable;
  /** Region standing for this program's code: function pointers point into it. */
  readonly codeRegion: Region;
}

/** What loading needs from the runtime around the program. */
export interface LoadEnvironment {
  /** Helpers available to the program's type. */
  helpers: HelperTable;
  /** Pointer to the handle of a map (lddw pseudo map_fd / map_idx). */
  mapHandle(fdOrIndex: number, pseudo: 'map_fd' | 'map_idx'): Pointer;
  /** Pointer into a map's value (lddw pseudo map_value / map_idx_value). */
  mapValue(fdOrIndex: number, offset: number, pseudo: 'map_value' | 'map_idx_value'): Pointer;
  /** Region for a program's code (function pointers). */
  codeRegion(name: string, slots: number): Region;
}

/**
 * Validate and pre-decode a program. Checks what the kernel's verifier checks about the
 * shape of a program (valid instructions, jumps and calls inside it and not into the
 * middle of an lddw, known helpers, the combined stack); dataflow safety is enforced at
 * run time instead, by the checked memory model.
 *
 * @throws VmLoadError naming the instruction.
 */
export function loadProgram(name: string, type: number, instructions: readonly Instruction[], env: LoadEnvironment): LoadedProgram {
  if (instructions.length === 0) throw new VmLoadError('the program has no instructions');
  const slotOf: number[] = [];
  let slots = 0;
  for (const insn of instructions) {
    slotOf.push(slots);
    slots += insn.code === OP_LDDW ? 2 : 1;
  }
  const n = slots;
  const code: DecodedCode = {
    ops: new Uint16Array(n + 1).fill(Op.TRAP),
    dst: new Uint8Array(n + 1),
    src: new Uint8Array(n + 1),
    off: new Int32Array(n + 1),
    imm: new Int32Array(n + 1),
    imm2: new Int32Array(n + 1),
    helpers: new Array<HelperFn | undefined>(n + 1).fill(undefined),
    words: new Int32Array(0),
    length: n,
  };
  const codeRegion = env.codeRegion(name, n);
  const isStart = new Uint8Array(n + 1);
  for (const s of slotOf) isStart[s] = 1;
  isStart[n] = 0;
  const functionEntries = new Set<number>([0]);
  let usesTailCalls = false;

  const target = (slot: number, rel: number, what: string): number => {
    const t = slot + 1 + rel;
    if (t < 0 || t >= n) throw new VmLoadError(`${what} to slot ${t} is outside the program (0-${n - 1})`, slot);
    if (!isStart[t]) throw new VmLoadError(`${what} to slot ${t} lands in the middle of an lddw`, slot);
    return t;
  };

  instructions.forEach((insn, index) => {
    const slot = slotOf[index]!;
    let op: Operation;
    try {
      op = operationOf(insn);
    } catch (e) {
      if (e instanceof InstructionError) throw new VmLoadError(e.reason, slot);
      throw e;
    }
    const written = writtenRegister(op);
    if (written === 10) throw new VmLoadError('frame pointer r10 is read only', slot);
    code.ops[slot] = insn.code;
    code.dst[slot] = insn.dst;
    code.src[slot] = insn.src;
    code.off[slot] = insn.off;
    code.imm[slot] = insn.imm;
    switch (op.kind) {
      case 'alu':
        code.ops[slot] = aluOp(op, insn.code);
        break;
      case 'endian':
        code.ops[slot] = endianOp(op.order, op.bits);
        break;
      case 'jcond':
        code.off[slot] = target(slot, op.off, 'jump');
        break;
      case 'ja':
        code.ops[slot] = Op.JA;
        code.off[slot] = target(slot, op.off, 'jump');
        break;
      case 'may_goto':
        code.ops[slot] = Op.MAY_GOTO;
        code.off[slot] = target(slot, op.off, 'may_goto');
        break;
      case 'call':
        if (op.target === 'local') {
          code.ops[slot] = Op.CALL_LOCAL;
          const t = target(slot, op.imm, 'call');
          code.off[slot] = t;
          functionEntries.add(t);
        } else if (op.target === 'kfunc') {
          throw new VmLoadError(`kernel function calls (kfunc BTF id ${op.imm}) are not available in the vm`, slot);
        } else {
          const helper = env.helpers.get(op.imm);
          if (helper === undefined) throw new VmLoadError(`unknown func #${op.imm}: no such helper for this program type`, slot);
          if (op.imm === HELPER_TAIL_CALL) usesTailCalls = true;
          code.helpers[slot] = helper;
        }
        break;
      case 'callx':
        code.ops[slot] = Op.CALLX;
        break;
      case 'exit':
        break;
      case 'lddw': {
        code.ops[slot] = Op.LDDW;
        let p: Pointer;
        switch (op.pseudo) {
          case 'imm64':
            p = { lo: op.imm, hi: op.imm2 };
            break;
          case 'map_fd':
          case 'map_idx':
            p = env.mapHandle(op.imm, op.pseudo);
            break;
          case 'map_value':
          case 'map_idx_value':
            p = env.mapValue(op.imm, op.imm2, op.pseudo);
            break;
          case 'func': {
            const t = target(slot, op.imm, 'function pointer');
            functionEntries.add(t);
            p = { lo: (codeRegion.hi === 0 ? 0 : (0x1000_0000 + t) | 0), hi: codeRegion.hi };
            break;
          }
          default:
            throw new VmLoadError(`lddw of a kernel symbol (BTF id ${op.imm}) is not available in the vm`, slot);
        }
        code.imm[slot] = p.lo;
        code.imm2[slot] = p.hi;
        code.ops[slot + 1] = Op.LDDW_SECOND;
        break;
      }
      case 'ldabs':
      case 'ldind':
        break;
      case 'load':
        if (op.signed) code.ops[slot] = op.size === 1 ? Op.LDXSB : op.size === 2 ? Op.LDXSH : Op.LDXSW;
        break;
      case 'store_imm':
      case 'store':
        break;
      case 'atomic':
        break;
    }
  });

  const stackDepth = computeStackDepths(code, functionEntries);
  if (usesTailCalls && functionEntries.size > 1) {
    for (const [entry, depth] of stackDepth) {
      if (depth > MAX_STACK_WITH_TAIL_CALLS) {
        throw new VmLoadError(`tail calls are not allowed in programs whose functions use more than ${MAX_STACK_WITH_TAIL_CALLS} bytes of stack (function at slot ${entry} uses ${depth})`, entry);
      }
    }
  }
  const frameDepth = new Int32Array(n + 1);
  for (const [entry, depth] of stackDepth) frameDepth[entry] = depth;
  code.words = dispatchWords(code);
  return { name, type, code, stackDepth, frameDepth, usesTailCalls, instructions, helperTable: env.helpers, codeRegion };
}

/** The register an operation writes, as the verifier's "R10 is read only" check sees it. */
function writtenRegister(op: Operation): number | undefined {
  switch (op.kind) {
    case 'alu':
    case 'endian':
    case 'lddw':
    case 'load':
      return op.dst;
    case 'atomic':
      return op.op === 'cmpxchg' ? 0 : op.op === 'load_acquire' ? op.dst : op.fetch ? op.src : undefined;
    default:
      return undefined;
  }
}

function aluOp(op: Extract<Operation, { kind: 'alu' }>, raw: number): number {
  const wide = op.width === 64;
  const isReg = op.operand.kind === 'reg';
  switch (op.op) {
    case 'movsx':
      if (wide) return op.extendBits === 8 ? Op.MOVSX64_8 : op.extendBits === 16 ? Op.MOVSX64_16 : Op.MOVSX64_32;
      return op.extendBits === 8 ? Op.MOVSX32_8 : Op.MOVSX32_16;
    case 'sdiv':
      return wide ? (isReg ? Op.SDIV64_X : Op.SDIV64_K) : isReg ? Op.SDIV32_X : Op.SDIV32_K;
    case 'smod':
      return wide ? (isReg ? Op.SMOD64_X : Op.SMOD64_K) : isReg ? Op.SMOD32_X : Op.SMOD32_K;
    case 'addr_space_cast':
      return Op.ADDR_SPACE_CAST;
    default:
      return raw;
  }
}

function endianOp(order: 'le' | 'be' | 'swap', bits: 16 | 32 | 64): number {
  if (order === 'le') return bits === 16 ? Op.LE16 : bits === 32 ? Op.LE32 : Op.LE64;
  return bits === 16 ? Op.BE16 : bits === 32 ? Op.BE32 : Op.BE64;
}

/**
 * Stack bytes each function uses: the deepest `r10 - off` it addresses directly, rounded up
 * to 32 bytes (at least 32) as the kernel rounds for interpreted programs. Accesses
 * through pointers derived from r10 are not seen; they are still bounded by the frame.
 */
function computeStackDepths(code: DecodedCode, entries: Set<number>): Map<number, number> {
  const sorted = [...entries].sort((a, b) => a - b);
  const out = new Map<number, number>();
  for (let f = 0; f < sorted.length; f++) {
    const start = sorted[f]!;
    const end = f + 1 < sorted.length ? sorted[f + 1]! : code.length;
    let depth = 0;
    for (let s = start; s < end; s++) {
      const cls = code.ops[s]! & 7;
      if (code.ops[s]! > 0xff) continue;
      const base = cls === 1 ? code.src[s] : cls === 2 || cls === 3 ? code.dst[s] : -1;
      if (base === 10 && code.off[s]! < 0) depth = Math.max(depth, -code.off[s]!);
    }
    out.set(start, Math.ceil(Math.max(depth, 1) / 32) * 32);
  }
  return out;
}
