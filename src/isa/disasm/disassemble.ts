import { decodeInstructions, type Endianness } from '../codec.js';
import { InstructionError } from '../errors.js';
import { insnSlots, type Instruction } from '../instruction.js';
import { OP_LDDW } from '../opcodes.js';
import { operationOf } from '../operation.js';
import { formatBpfkit } from './bpfkit-syntax.js';
import { JumpTargetNamer } from './jump-targets.js';
import { formatLlvm, LLVM_UNKNOWN } from './llvm-syntax.js';

/**
 * Output syntax of the disassembler.
 * - `llvm`: exactly the instruction text of `llvm-objdump-19 -d --no-print-imm-hex`,
 *   quirks included: with llvm-objdump's default features, 32-bit loads print with `r`
 *   registers and 32-bit atomics other than add print as `<unknown>` (see `alu32`).
 *   Lossy and ambiguous (`call 1` may be a helper or a local call, `ldind` drops its
 *   immediate). Only load-acquire/store-release, which LLVM 19 cannot print, use
 *   LLVM 21's text.
 * - `bpfkit`: the same syntax made unambiguous (docs/assembly-syntax.md); bpfkit's
 *   assembler reads it back to the same instructions.
 */
export type DisasmSyntax = 'llvm' | 'bpfkit';

export interface DisassembleOptions {
  /** Output syntax; default `bpfkit`. */
  syntax?: DisasmSyntax;
  /**
   * Symbols of the section by slot (e.g. functions and `LBB0_3` labels from the ELF
   * symbol table). Jumps are then annotated `goto +3 <LBB0_3>` or `<f+0x48>` as
   * llvm-objdump annotates them; without symbols they are not annotated.
   */
  symbols?: ReadonlyMap<number, string>;
  /**
   * The section's name: llvm-objdump uses it as a symbol at offset 0 when no other
   * symbol is there (`goto +1 <.text+0x10>`).
   */
  sectionName?: string;
  /**
   * `bpfkit` syntax only: what an instruction refers to, by the instruction's slot, when
   * its encoding cannot show it — in an object file, the relocations: the callee of
   * `call -1` (a global function, a function in another section, a kfunc), the map or
   * variable of `r1 = 0 ll`. Printed as a trailing ` <name>` on calls and lddw, which the
   * assembler reads as a comment.
   */
  references?: ReadonlyMap<number, string>;
  /** `llvm` syntax only: print as `llvm-objdump --mattr=+alu32` does (default false, like llvm-objdump). */
  alu32?: boolean;
  /**
   * What to do with a malformed instruction (unknown opcode, reserved field set,
   * register above r10):
   * - `throw` (default): throw an {@link InstructionError} naming the slot, byte offset
   *   and what is wrong.
   * - `mark`: print it instead of failing: `<unknown>` in the llvm syntax (as
   *   llvm-objdump does), and in the bpfkit syntax an explicit raw line
   *   `.insn code=0xff dst=1 src=2 off=3 imm=4 ; <what is wrong>` that can never be
   *   mistaken for an instruction.
   */
  invalid?: 'throw' | 'mark';
}

/** One disassembled instruction. */
export interface DisassembledInstruction {
  /** Slot index of the instruction (lddw takes two slots). */
  slot: number;
  insn: Instruction;
  /** The instruction's text in the chosen syntax. */
  text: string;
  /** With `invalid: 'mark'`: why the instruction is malformed. */
  error?: InstructionError;
}

/**
 * Disassemble instructions, one entry per instruction with its slot.
 *
 * @throws InstructionError naming the slot and byte offset of a malformed instruction
 *   (unless `invalid: 'mark'`).
 */
export function disassembleInstructions(insns: readonly Instruction[], options: DisassembleOptions = {}): DisassembledInstruction[] {
  const targets = new JumpTargetNamer(options.symbols, options.sectionName);
  const out: DisassembledInstruction[] = [];
  let slot = 0;
  for (const insn of insns) {
    try {
      out.push({ slot, insn, text: format(insn, slot, targets, options) });
    } catch (e) {
      if (!(e instanceof InstructionError)) throw e;
      const located = e.at(slot);
      if (options.invalid !== 'mark') throw located;
      out.push({ slot, insn, text: markInvalid(insn, located, options.syntax ?? 'bpfkit'), error: located });
    }
    slot += insnSlots(insn);
  }
  return out;
}

/**
 * Disassemble instructions into text lines, one per instruction (`r0 = *(u32 *)(r1 +
 * 20)`), in the chosen syntax.
 *
 * @throws InstructionError naming the slot and byte offset of a malformed instruction
 *   (unless `invalid: 'mark'`).
 */
export function disassemble(insns: readonly Instruction[], options: DisassembleOptions = {}): string[] {
  return disassembleInstructions(insns, options).map((d) => d.text);
}

/**
 * Decode and disassemble raw instruction bytes. The stream's structure must be sound
 * (whole 8-byte slots, complete lddw pairs); opcodes and fields are then judged as
 * `options.invalid` says.
 *
 * @throws InstructionError naming the slot and byte offset of what is wrong.
 */
export function disassembleBytes(
  bytes: Uint8Array,
  options: DisassembleOptions & { endian?: Endianness } = {},
): DisassembledInstruction[] {
  return disassembleInstructions(decodeInstructions(bytes, { endian: options.endian, strict: false }), options);
}

/**
 * The text of a single instruction. `slot` (default 0) is where it sits, for jump
 * annotations when `symbols` are given.
 *
 * @throws InstructionError for a malformed instruction (unless `invalid: 'mark'`).
 */
export function formatInstruction(insn: Instruction, options: DisassembleOptions & { slot?: number } = {}): string {
  const slot = options.slot ?? 0;
  const targets = new JumpTargetNamer(options.symbols, options.sectionName);
  try {
    return format(insn, slot, targets, options);
  } catch (e) {
    if (!(e instanceof InstructionError) || options.invalid !== 'mark') throw e;
    return markInvalid(insn, e, options.syntax ?? 'bpfkit');
  }
}

function format(insn: Instruction, slot: number, targets: JumpTargetNamer, options: DisassembleOptions): string {
  const op = operationOf(insn);
  const ctx = targets.empty ? { slot } : { slot, targets };
  if ((options.syntax ?? 'bpfkit') === 'llvm') return formatLlvm(op, { ...ctx, alu32: options.alu32 ?? false });
  const reference = options.references?.get(slot);
  return formatBpfkit(op, reference === undefined ? ctx : { ...ctx, reference });
}

function markInvalid(insn: Instruction, error: InstructionError, syntax: DisasmSyntax): string {
  if (syntax === 'llvm') return LLVM_UNKNOWN;
  const wide = insn.code === OP_LDDW ? ` imm2=${insn.imm2 ?? 0}` : '';
  return `.insn code=0x${insn.code.toString(16).padStart(2, '0')} dst=${insn.dst} src=${insn.src} off=${insn.off} imm=${insn.imm}${wide} ; ${error.reason}`;
}
