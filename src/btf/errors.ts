/**
 * The one error type of the BTF layer. Every malformed input (truncated data, bad
 * magic, out-of-range type ids or string offsets, reference cycles, absurd sizes)
 * becomes a BtfError naming the part of the input and the byte offset, so a user can
 * locate the problem with a hex dump instead of reading our code.
 */
export class BtfError extends Error {
  override readonly name = 'BtfError';
  constructor(
    /** What is wrong, without the location. */
    readonly reason: string,
    /** Which part: "header", "types", "strings", "ext.func_info", "core", ... */
    readonly part: string,
    /** Byte offset inside that part's input (or the type id, for "type" parts), -1 when unknown. */
    readonly offset: number = -1,
  ) {
    super(offset >= 0 ? `BTF ${part} at offset ${offset}: ${reason}` : `BTF ${part}: ${reason}`);
  }
}
