/**
 * Errors of the ELF layer. Every problem with an input file is reported as an
 * {@link ElfError} that names the part of the file (header, a section, a symbol table,
 * ...) and the byte offset, so that a corrupt object fails with a message a user can act
 * on instead of a RangeError from deep inside a DataView.
 */
export class ElfError extends Error {
  override readonly name = 'ElfError';
  constructor(
    /** What is wrong, without the location. */
    readonly reason: string,
    /** The part of the file: "ELF header", "section 5 (.text)", "symbol 12 in .symtab", ... */
    readonly part: string,
    /** Byte offset in the file, when known. */
    readonly offset?: number,
  ) {
    super(`${part}${offset === undefined ? '' : ` at offset ${offset} (0x${offset.toString(16)})`}: ${reason}`);
  }
}
