import { instructionOf } from '../compose.js';
import { AssemblyError, InstructionError } from '../errors.js';
import type { Instruction } from '../instruction.js';
import { parseLlvmLine } from './llvm.js';
import { sourceLines, type SourceLine } from './source-lines.js';
import { targetBits, withTargetOffset, type Statement } from './statement.js';
import { LineProblem } from './syntax-error.js';
import { parseUbpfLine } from './ubpf.js';

/** The assembly syntaxes bpfkit reads (see docs/assembly-syntax.md). */
export type AsmSyntax = 'bpfkit' | 'llvm' | 'ubpf';

export interface AssembleOptions {
  /** Which syntax the source is in; default `bpfkit`. */
  syntax?: AsmSyntax;
  /**
   * Line number of the source's first line, so errors name lines of an enclosing file
   * (a bpf_conformance `.data` file's `-- asm` section); default 1.
   */
  firstLine?: number;
}

interface Placed {
  statement: Statement;
  source: SourceLine;
  /** Slot index of the instruction. */
  slot: number;
}

/**
 * Assemble eBPF assembly text into instructions.
 *
 * Every instruction is built through {@link instructionOf}, so the assembler accepts
 * exactly the instructions the rest of bpfkit considers valid. Jump and call targets
 * may be `+N`/`-N` slot offsets or label names.
 *
 * @throws AssemblyError naming the 1-based line and what is wrong: an unknown mnemonic,
 *   a wrong operand count, a bad register, an immediate or offset out of range, an
 *   undefined or duplicate label, an unknown directive, an invalid lock operation.
 * @throws TypeError for an unknown `syntax`.
 */
export function assemble(source: string, options: AssembleOptions = {}): Instruction[] {
  const syntax = options.syntax ?? 'bpfkit';
  if (syntax !== 'bpfkit' && syntax !== 'llvm' && syntax !== 'ubpf') {
    throw new TypeError(`unknown assembly syntax "${String(syntax)}" (bpfkit, llvm or ubpf)`);
  }
  const lineShift = (options.firstLine ?? 1) - 1;
  const located = (reason: string, src: SourceLine) => new AssemblyError(reason, src.line + lineShift, src.text);

  const labels = new Map<string, number>();
  const placed: Placed[] = [];
  let slot = 0;
  for (const src of sourceLines(source, { hashAnywhere: syntax === 'ubpf', objdump: syntax !== 'ubpf' })) {
    for (const label of src.labels) {
      if (labels.has(label)) throw located(`label "${label}" is defined twice`, src);
      labels.set(label, slot);
    }
    if (src.code === '') continue;
    let statement: Statement;
    try {
      statement = syntax === 'ubpf' ? parseUbpfLine(src.code) : parseLlvmLine(src.code, syntax);
    } catch (e) {
      if (e instanceof LineProblem) throw located(e.reason, src);
      throw e;
    }
    placed.push({ statement, source: src, slot });
    slot += statement.op.kind === 'lddw' ? 2 : 1;
  }

  // bpf_conformance programs jump to `exit` without defining it: it names the first exit.
  if (syntax === 'ubpf' && !labels.has('exit')) {
    const firstExit = placed.find((p) => p.statement.op.kind === 'exit');
    if (firstExit) labels.set('exit', firstExit.slot);
  }

  return placed.map(({ statement, source: src, slot: at }) => {
    let op = statement.op;
    if (statement.target !== undefined) {
      const dest = labels.get(statement.target);
      if (dest === undefined) throw located(`undefined label "${statement.target}"`, src);
      const offset = dest - (at + 1);
      const bits = targetBits(op);
      if (bits === 16 && (offset < -0x8000 || offset > 0x7fff)) {
        throw located(`label "${statement.target}" is ${offset} slots away: too far for a 16-bit jump offset (use gotol for long jumps)`, src);
      }
      op = withTargetOffset(op, offset);
    }
    try {
      return instructionOf(op);
    } catch (e) {
      if (e instanceof InstructionError) throw located(e.reason, src);
      throw e;
    }
  });
}
