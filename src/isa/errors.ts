/**
 * Errors of the instruction-set layer. They name where the problem is (the slot and byte
 * offset in a stream, or the line of an assembly source) and what is wrong, so a user
 * can fix the input without reading our code.
 */

/** A malformed instruction: unknown opcode, reserved field set, truncated lddw, ... */
export class InstructionError extends Error {
  override readonly name = 'InstructionError';
  constructor(
    /** What is wrong, without the location. */
    readonly reason: string,
    /** Slot index of the offending instruction, when known. */
    readonly slot?: number,
  ) {
    super(slot === undefined ? reason : `instruction ${slot} (byte offset ${slot * 8}): ${reason}`);
  }

  /** The same error, located at `slot`. */
  at(slot: number): InstructionError {
    return new InstructionError(this.reason, slot);
  }
}

/** Malformed assembly source. */
export class AssemblyError extends Error {
  override readonly name = 'AssemblyError';
  constructor(
    readonly reason: string,
    /** 1-based source line. */
    readonly line: number,
    /** The offending line's text. */
    readonly text?: string,
  ) {
    super(`line ${line}: ${reason}${text === undefined ? '' : `\n  ${text.trim()}`}`);
  }
}
