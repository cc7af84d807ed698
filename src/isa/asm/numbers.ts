import { problem } from './syntax-error.js';

/**
 * Integer literals of every assembly syntax: decimal or `0x` hex, with an optional sign.
 *
 * Range rules follow bpf_conformance's negative tests: a decimal literal is a signed
 * value and must fit the field as a signed number; a hex literal is a bit pattern and
 * may use every bit of the field (`0xffffffff` is a valid imm32, meaning -1), but no
 * more (`0x100000000` is not).
 */

const LITERAL = /^([+-]?)(0x[0-9a-f]+|[0-9]+)$/i;

/** Is this text an integer literal? */
export function isIntegerLiteral(text: string): boolean {
  return LITERAL.test(text.trim());
}

/** Parse an integer literal exactly, as a BigInt; a problem when it is not one. */
export function parseInteger(text: string, what: string): { value: bigint; hex: boolean } {
  const m = LITERAL.exec(text.trim());
  if (!m) problem(`${what} "${text.trim()}" is not a number (write decimal like 42 or -8, or hex like 0x2a)`);
  const magnitude = BigInt(m[2]!);
  return { value: m[1] === '-' ? -magnitude : magnitude, hex: /^0x/i.test(m[2]!) };
}

/**
 * A literal for a field of `bits` bits, returned as the field's signed value.
 * Decimal: -2^(bits-1) .. 2^(bits-1)-1. Hex: up to 2^bits - 1 as a bit pattern, or a
 * negative hex down to -2^(bits-1).
 */
export function parseSigned(text: string, bits: 16 | 32, what: string): number {
  const { value, hex } = parseInteger(text, what);
  const min = -(1n << BigInt(bits - 1));
  const max = hex ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  if (value < min || value > max) {
    const range = hex ? `-0x${(-min).toString(16)} to 0x${max.toString(16)}` : `${min} to ${max}`;
    problem(`${what} ${text.trim()} is out of range for ${bits} bits (${range})`);
  }
  return Number(BigInt.asIntN(bits, value));
}

/** A 32-bit immediate. */
export function parseImm32(text: string, what = 'immediate'): number {
  return parseSigned(text, 32, what);
}

/**
 * A 32-bit immediate as LLVM's assembler reads it: any value from -2^31 to 2^32-1,
 * decimal or hex, the upper half meaning the same bits as a negative number
 * (`w1 = 4294967295` is `w1 = -1`).
 */
export function parseImm32Llvm(text: string, what = 'immediate'): number {
  const { value } = parseInteger(text, what);
  if (value < -(1n << 31n) || value > 0xffffffffn) problem(`${what} ${text.trim()} is out of range for 32 bits (-2147483648 to 4294967295)`);
  return Number(BigInt.asIntN(32, value));
}

/** A 16-bit offset. */
export function parseOff16(text: string, what = 'offset'): number {
  return parseSigned(text, 16, what);
}

/**
 * A 64-bit constant for lddw: anything from -2^63 to 2^64-1 (llvm prints the unsigned
 * decimal, people write negative numbers), returned as its 64-bit pattern.
 */
export function parseImm64(text: string, what = '64-bit immediate'): bigint {
  const { value } = parseInteger(text, what);
  if (value < -(1n << 63n) || value >= 1n << 64n) problem(`${what} ${text.trim()} does not fit in 64 bits`);
  return BigInt.asUintN(64, value);
}

/** A non-negative small number (a map fd, an index, an address space). */
export function parseUnsigned32(text: string, what: string): number {
  const { value } = parseInteger(text, what);
  if (value < 0n || value > 0xffffffffn) problem(`${what} ${text.trim()} must be between 0 and 4294967295`);
  return Number(value);
}
