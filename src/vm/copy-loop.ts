import { jumpK64 } from './jump-conditions.js';
import { ID_MASK, REGION_BASE, type Region } from './memory.js';
import type { DecodedCode } from './program.js';

/**
 * The indexed copy loop as one superinstruction. clang compiles `dst[i] = src[i]` over
 * u64 words to eight instructions per iteration,
 *
 *     rA = rP; rA += rI; rB = rQ; rB += rI;
 *     rB = *(u64 *)(rB + o1); *(u64 *)(rA + o2) = rB;
 *     rJ += K; if rE <op> N goto T
 *
 * which pair fusion still runs in four dispatches. Here one dispatch runs whole
 * iterations, and keeps going while the loop jumps back to its own first slot: each
 * iteration checks its load and store against their regions exactly as the inline fast
 * path does and charges the budget all eight instructions. Whenever an iteration cannot
 * be run whole — too little budget left for all eight, or a load or store that the fast
 * path would not take (a fault, a context field) — it is not started, and the caller runs
 * the first pair on its own, so the faults, budget exhaustion and context conversions
 * come from the ordinary one-instruction-at-a-time code at the same slot.
 *
 * {@link copyLoopFusable} only fuses register choices for which computing both addresses
 * up front equals running the instructions in order (A, B and I distinct, A not Q).
 */

/** Slot layout in the dispatch words (see fusion.ts): 4 words per slot. */
const W = 4;
const FAST_REGION_BASE: number = REGION_BASE;
const FAST_ID_MASK: number = ID_MASK;

/**
 * Run iterations of the copy loop whose first slot is `pc`; the dispatch of the first has
 * been charged. Returns true with `out[0]` = the next pc and `out[1]` = the budget left,
 * or false with `out[1]` = the budget left when the caller must run the first pair alone.
 */
export function copyLoopDw(
  L: Int32Array,
  H: Int32Array,
  T: readonly (Region | undefined)[],
  C: Int32Array,
  ops: Uint16Array,
  pc: number,
  left: number,
  out: Int32Array,
): boolean {
  const p = pc * W;
  const w0 = C[p]!;
  const A = (w0 >>> 12) & 15;
  const P = (w0 >>> 16) & 15;
  const I = (C[p + W]! >>> 16) & 15;
  const w2 = C[p + 2 * W]!;
  const B = (w2 >>> 12) & 15;
  const Q = (w2 >>> 16) & 15;
  const o1 = C[p + 4 * W + 2]!;
  const o2 = C[p + 5 * W + 2]!;
  const J = (C[p + 6 * W]! >>> 12) & 15;
  const K = C[p + 6 * W + 1]!;
  const Kh = K >> 31;
  const E = (C[p + 7 * W]! >>> 12) & 15;
  const N = C[p + 7 * W + 1]!;
  const target = C[p + 7 * W + 2]!;
  const jop = ops[pc + 7]!;
  for (;;) {
    if (left < 7) break;
    const il = L[I]!;
    const ih = H[I]!;
    const al = (L[P]! >>> 0) + (il >>> 0);
    const ah = (H[P]! + ih + (al > 0xffffffff ? 1 : 0)) | 0;
    const bl = (L[Q]! >>> 0) + (il >>> 0);
    const bh = (H[Q]! + ih + (bl > 0xffffffff ? 1 : 0)) | 0;
    const rr = T[bh & FAST_ID_MASK];
    const ro = ((bl | 0) - FAST_REGION_BASE + o1) | 0;
    if (rr === undefined || rr.hi !== bh || ro < 0 || ro + 8 > rr.size || rr.context !== null) break;
    const wr = T[ah & FAST_ID_MASK];
    const wo = ((al | 0) - FAST_REGION_BASE + o2) | 0;
    if (wr === undefined || wr.hi !== ah || wo < 0 || wo + 8 > wr.size || !wr.writable || wr.context !== null) break;
    const rv = rr.view;
    const vl = rv.getInt32(ro, true);
    const vh = rv.getInt32(ro + 4, true);
    const wv = wr.view;
    wv.setInt32(wo, vl, true);
    wv.setInt32(wo + 4, vh, true);
    L[A] = al;
    H[A] = ah;
    L[B] = vl;
    H[B] = vh;
    const jl = (L[J]! >>> 0) + (K >>> 0);
    L[J] = jl;
    H[J] = (H[J]! + Kh + (jl > 0xffffffff ? 1 : 0)) | 0;
    left -= 7;
    const el = L[E]!;
    const eh = H[E]!;
    const taken = jop === 0x55 ? el !== N || eh !== N >> 31 : jumpK64(jop, el, eh, N);
    const next = taken ? target : pc + 8;
    // Leave for the dispatch loop anything but another iteration it has budget for.
    if (next !== pc || left < 1) {
      out[0] = next;
      out[1] = left;
      return true;
    }
    left--;
  }
  out[1] = left;
  return false;
}

/**
 * Whether slots `i..i+7` of the decoded code are the copy loop above with register choices
 * it may run: the two address pairs, the load into B through B, the store of B through A,
 * a 64-bit add of an immediate and a 64-bit compare-with-immediate jump.
 */
export function copyLoopFusable(code: DecodedCode, i: number, isJmpK: (op: number) => boolean): boolean {
  const { ops, dst, src } = code;
  if (i + 7 >= code.length) return false;
  if (ops[i] !== 0xbf || ops[i + 1] !== 0x0f || ops[i + 2] !== 0xbf || ops[i + 3] !== 0x0f) return false;
  if (ops[i + 4] !== 0x79 || ops[i + 5] !== 0x7b || ops[i + 6] !== 0x07 || !isJmpK(ops[i + 7]!)) return false;
  const A = dst[i]!;
  const B = dst[i + 2]!;
  const I = src[i + 1]!;
  if (dst[i + 1] !== A || dst[i + 3] !== B || src[i + 3] !== I) return false;
  if (dst[i + 4] !== B || src[i + 4] !== B || dst[i + 5] !== A || src[i + 5] !== B) return false;
  return A !== B && A !== I && B !== I && A !== src[i + 2];
}
