/**
 * Operand spellings shared by both output syntaxes: registers, memory operands, size
 * casts and signed offsets, exactly as LLVM's BPF instruction printer spells them.
 */

/** The 64-bit name of register `n` (`r0`..`r10`). */
export function reg64(n: number): string {
  return `r${n}`;
}

/** The 32-bit subregister name of register `n` (`w0`..`w10`). */
export function reg32(n: number): string {
  return `w${n}`;
}

/** `r` or `w` name of a register for an operation of the given width. */
export function reg(n: number, width: 32 | 64): string {
  return width === 32 ? reg32(n) : reg64(n);
}

/** The C-style type of a memory access: `u8`, `u16`, `u32`, `u64` (or `s8`... when signed). */
export function sizeType(size: 1 | 2 | 4 | 8, signed = false): string {
  return `${signed ? 's' : 'u'}${size * 8}`;
}

/** A base-plus-offset address as LLVM prints it: `r1 + 20`, `r10 - 8`, `r1 + 0`. */
export function address(base: number, off: number): string {
  return off < 0 ? `${reg64(base)} - ${-off}` : `${reg64(base)} + ${off}`;
}

/** A memory operand: `*(u32 *)(r1 + 20)`. */
export function memory(size: 1 | 2 | 4 | 8, base: number, off: number, signed = false): string {
  return `*(${sizeType(size, signed)} *)(${address(base, off)})`;
}

/** A jump distance with its sign always shown: `+3`, `+0`, `-1`. */
export function signedDistance(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}
