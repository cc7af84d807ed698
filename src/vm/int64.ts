/**
 * 64-bit arithmetic on (lo, hi) pairs of signed 32-bit words, for the interpreter's
 * registers. The common cases are done with Number arithmetic; only division of values
 * beyond 2^53 falls back to BigInt, which is rare enough to stay off the hot path.
 * Results are written into `out[0]` (lo) and `out[1]` (hi).
 */

const TWO32 = 4294967296;

/** Low 64 bits of a * b. */
export function mul64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  const a = alo >>> 0;
  const b = blo >>> 0;
  // Split b into 16-bit halves so each partial product of a is exact in a double.
  const t0 = a * (b & 0xffff);
  const t1 = a * (b >>> 16);
  const low = t0 + (t1 % 65536) * 65536;
  const carry = Math.floor(low / TWO32);
  out[0] = low % TWO32;
  out[1] = (Math.floor(t1 / 65536) + carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function fromBig(v: bigint, out: Int32Array): void {
  const u = BigInt.asUintN(64, v);
  out[0] = Number(u & 0xffffffffn);
  out[1] = Number(u >> 32n);
}

/** Unsigned a / b, b != 0. */
export function udiv64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  if (ahi >>> 0 < 0x200000 && bhi >>> 0 < 0x200000) {
    const q = Math.floor(((ahi >>> 0) * TWO32 + (alo >>> 0)) / ((bhi >>> 0) * TWO32 + (blo >>> 0)));
    out[0] = q % TWO32;
    out[1] = Math.floor(q / TWO32);
    return;
  }
  fromBig(toBig(alo, ahi) / toBig(blo, bhi), out);
}

/** Unsigned a % b, b != 0. */
export function umod64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  if (ahi >>> 0 < 0x200000 && bhi >>> 0 < 0x200000) {
    const r = ((ahi >>> 0) * TWO32 + (alo >>> 0)) % ((bhi >>> 0) * TWO32 + (blo >>> 0));
    out[0] = r % TWO32;
    out[1] = Math.floor(r / TWO32);
    return;
  }
  fromBig(toBig(alo, ahi) % toBig(blo, bhi), out);
}

/** Is the 64-bit value a sign-extended 32-bit one? */
function fits32(lo: number, hi: number): boolean {
  return hi === lo >> 31;
}

/** Signed a / b, b != 0, truncating; INT64_MIN / -1 wraps to INT64_MIN as in the kernel. */
export function sdiv64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  if (fits32(alo, ahi) && fits32(blo, bhi)) {
    const q = Math.trunc(alo / blo);
    out[0] = q | 0;
    out[1] = q < 0 ? -1 : 0;
    return;
  }
  fromBig(BigInt.asIntN(64, toBig(alo, ahi)) / BigInt.asIntN(64, toBig(blo, bhi)), out);
}

/** Signed a % b, b != 0; the sign follows the dividend (C semantics). */
export function smod64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  if (fits32(alo, ahi) && fits32(blo, bhi)) {
    const r = alo % blo;
    out[0] = r | 0;
    out[1] = r < 0 ? -1 : 0;
    return;
  }
  fromBig(BigInt.asIntN(64, toBig(alo, ahi)) % BigInt.asIntN(64, toBig(blo, bhi)), out);
}

/** Compare unsigned: negative, zero or positive. */
export function cmpU64(alo: number, ahi: number, blo: number, bhi: number): number {
  if (ahi !== bhi) return (ahi >>> 0) - (bhi >>> 0);
  return (alo >>> 0) - (blo >>> 0);
}

/** Compare signed: negative, zero or positive. */
export function cmpS64(alo: number, ahi: number, blo: number, bhi: number): number {
  if (ahi !== bhi) return ahi - bhi;
  return (alo >>> 0) - (blo >>> 0);
}

/** Reverse the bytes of a 32-bit word. */
export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** Reverse the bytes of the low 16 bits, zero-extended. */
export function bswap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}
