import type { Operation } from '../operation.js';

/**
 * One parsed instruction line: the operation it means and, when its jump or call target
 * is a label, that label. The target's offset is filled in once every label is known.
 */
export interface Statement {
  op: Operation;
  /** A label named as the target of a jump, a local call or `func(...)`. */
  target?: string;
}

/** Bits of the field that holds an operation's target offset. */
export function targetBits(op: Operation): 16 | 32 {
  if (op.kind === 'jcond' || op.kind === 'may_goto' || (op.kind === 'ja' && !op.long)) return 16;
  return 32;
}

/** The operation with its target offset (slots after the next instruction) set. */
export function withTargetOffset(op: Operation, offset: number): Operation {
  switch (op.kind) {
    case 'jcond':
    case 'ja':
    case 'may_goto':
      return { ...op, off: offset };
    case 'call':
    case 'lddw':
      return { ...op, imm: offset };
    default:
      return op;
  }
}
