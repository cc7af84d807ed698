import { helperName } from '../../uapi/helpers.js';
import { InstructionError } from '../errors.js';
import type { Operation } from '../operation.js';
import type { JumpTargetNamer } from './jump-targets.js';
import { formatAtomic, formatLlvm, jumpTarget, lddwUnsigned } from './llvm-syntax.js';
import { reg64, signedDistance, sizeType } from './operands.js';

/** What the bpfkit printer needs to know besides the operation itself. */
export interface BpfkitPrintContext {
  slot: number;
  targets?: JumpTargetNamer;
  /** What the instruction refers to when known from elsewhere (a relocation): printed as ` <name>`. */
  reference?: string;
}

/**
 * One instruction in bpfkit's syntax (docs/assembly-syntax.md): the llvm syntax with its
 * ambiguities removed. Helper calls carry their name and id (`call
 * bpf_map_lookup_elem#1`), local calls and kfunc calls say so (`call local +5`, `call
 * kfunc 12345`), lddw names its pseudo source (`r1 = map_value(5, 16) ll`) and prints a
 * plain constant as an unsigned decimal, legacy packet loads keep their offset
 * (`skb[r1 + 10]`), and every atomic has its full text (32-bit ones with `w`
 * registers, as llvm-objdump prints them under alu32). Loads and stores use `r`
 * registers, as llvm-objdump does by default. A call or lddw with a known reference
 * (a relocation) ends in ` <name>`.
 *
 * @throws InstructionError for an lddw whose pseudo source has no use for the second
 *   immediate but finds it nonzero: no text could carry it, so it is refused rather than
 *   dropped.
 */
export function formatBpfkit(op: Operation, ctx: BpfkitPrintContext): string {
  if (ctx.reference !== undefined && (op.kind === 'call' || op.kind === 'lddw')) {
    // The reference replaces the annotation computed from the offset, which it corrects.
    return `${formatBpfkit(op, { slot: ctx.slot })} <${ctx.reference}>`;
  }
  switch (op.kind) {
    case 'call':
      if (op.target === 'helper') return `call ${helperName(op.imm) ?? 'helper'}#${op.imm}`;
      if (op.target === 'local') return `call local ${jumpTarget(op.imm, ctx)}`;
      return op.btfFdIndex === 0 ? `call kfunc ${op.imm}` : `call kfunc ${op.imm} btf_fd ${op.btfFdIndex}`;
    case 'lddw': {
      const d = reg64(op.dst);
      switch (op.pseudo) {
        case 'imm64':
          return `${d} = ${lddwUnsigned(op.imm, op.imm2)} ll`;
        case 'map_value':
        case 'map_idx_value':
          return `${d} = ${op.pseudo}(${op.imm}, ${op.imm2}) ll`;
      }
      if (op.imm2 !== 0) {
        throw new InstructionError(`lddw ${op.pseudo} uses reserved fields: the second slot's imm must be 0, found ${op.imm2}`);
      }
      if (op.pseudo === 'func') return `${d} = func(${signedDistance(op.imm)}) ll`;
      return `${d} = ${op.pseudo}(${op.imm}) ll`;
    }
    case 'ldabs':
      return `r0 = *(${sizeType(op.size)} *)skb[${op.imm}]`;
    case 'ldind': {
      const offset = op.imm < 0 ? ` - ${-op.imm}` : ` + ${op.imm}`;
      return `r0 = *(${sizeType(op.size)} *)skb[${reg64(op.src)}${offset}]`;
    }
    case 'atomic':
      return formatAtomic(op, true);
    default:
      return formatLlvm(op, { ...ctx, alu32: false });
  }
}
