import { cmpU64 } from './int64.js';

// The conditions of compare-with-immediate jumps, for superinstructions that end in one
// (the jump's opcode is read from the pre-decoded ops, so one function serves all six).

/** The condition of a 64-bit compare-with-immediate jump (the second half of a fused loop tail). */
export function jumpK64(op: number, lo: number, hi: number, k: number): boolean {
  const kh = k >> 31;
  switch (op) {
    case 0x15: return lo === k && hi === kh;
    case 0x55: return lo !== k || hi !== kh;
    case 0x25: return cmpU64(lo, hi, k, kh) > 0;
    case 0x35: return cmpU64(lo, hi, k, kh) >= 0;
    case 0xa5: return cmpU64(lo, hi, k, kh) < 0;
    default: return cmpU64(lo, hi, k, kh) <= 0; // 0xb5
  }
}

/** The condition of a 32-bit compare-with-immediate jump. */
export function jumpK32(op: number, x: number, k: number): boolean {
  switch (op) {
    case 0x16: return x === k;
    case 0x56: return x !== k;
    case 0x26: return x >>> 0 > k >>> 0;
    case 0x36: return x >>> 0 >= k >>> 0;
    case 0xa6: return x >>> 0 < k >>> 0;
    default: return x >>> 0 <= k >>> 0; // 0xb6
  }
}
