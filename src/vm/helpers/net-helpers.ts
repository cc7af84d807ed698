import { Errno } from '../errors.js';
import type { Machine } from '../interpreter.js';
import { SkBuffContext } from '../contexts/sk-buff.js';
import { XdpContext } from '../contexts/xdp-md.js';
import type { PacketBuffer } from '../contexts/packet.js';
import type { HelperFn } from './helper.js';

/** Where a redirect helper asked the packet to go. */
export interface RedirectTarget {
  ifindex: number;
  flags: number;
}

function skbOf(m: Machine): SkBuffContext {
  const ctx = m.state.context;
  if (ctx instanceof SkBuffContext) return ctx;
  return m.fault('invalid_helper_call', 'this helper needs a struct __sk_buff context');
}

/** bpf_skb_load_bytes(skb, offset, to, len). */
export const skbLoadBytes: HelperFn = (m) => {
  const pkt = skbOf(m).packet;
  const off = m.lo[2]! >>> 0;
  const len = m.lo[4]! >>> 0;
  const to = m.argBytes(3, len, true);
  if (off + len > pkt.length || len === 0) {
    to.fill(0);
    return m.retNumber(-Errno.EFAULT);
  }
  to.set(pkt.bytes.subarray(off, off + len));
  m.ret(0, 0);
};

/** bpf_skb_store_bytes(skb, offset, from, len, flags). */
export const skbStoreBytes: HelperFn = (m) => {
  const pkt = skbOf(m).packet;
  const off = m.lo[2]! >>> 0;
  const len = m.lo[4]! >>> 0;
  const from = m.argBytes(3, len, false);
  if ((m.lo[5]! & ~3) !== 0) return m.retNumber(-Errno.EINVAL);
  if (off + len > pkt.length) return m.retNumber(-Errno.EFAULT);
  pkt.bytes.set(from, off);
  // The data moved: packet pointers taken before are invalid, as after the kernel helper.
  pkt.setBounds(pkt.meta, pkt.data, pkt.end);
  m.ret(0, 0);
};

/** One's-complement 16-bit sum helpers (csum_fold / csum_add semantics). */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

function readBe16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

/** Replace `from` by `to` (16 or 32 bits, host order values of network bytes) in the checksum at `off`. */
function csumReplace(pkt: PacketBuffer, off: number, from: number, to: number, size: number, pseudo: boolean, mangledZero: boolean): number {
  if (off + 2 > pkt.length) return -Errno.EFAULT;
  const b = pkt.bytes;
  const old = readBe16(b, off);
  if (mangledZero && old === 0) return 0;
  // Values arrive as the program loaded them from the packet (network order in memory,
  // little-endian in the register): swap each 16-bit half back to network order.
  const halves = (v: number, n: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i += 2) out.push(((v >>> (i * 8)) & 0xff) * 256 + ((v >>> (i * 8 + 8)) & 0xff));
    return out;
  };
  let sum = ~old & 0xffff;
  if (size === 0) {
    // The difference is given precomputed in `to` (from csum_diff); already a 32-bit sum.
    sum += fold(to >>> 0);
  } else {
    for (const h of halves(from, size)) sum += ~h & 0xffff;
    for (const h of halves(to, size)) sum += h;
  }
  let res = ~fold(sum) & 0xffff;
  if (mangledZero && res === 0) res = 0xffff;
  // BPF_F_PSEUDO_HDR changes skb->csum only for CHECKSUM_COMPLETE/PARTIAL skbs; test-run skbs are
  // CHECKSUM_NONE, so the packet bytes come out the same either way.
  void pseudo;
  b[off] = res >> 8;
  b[off + 1] = res & 0xff;
  return 0;
}

/** bpf_l3_csum_replace(skb, offset, from, to, size). */
export const l3CsumReplace: HelperFn = (m) => {
  const size = m.lo[5]! & 0xf;
  if (size !== 0 && size !== 2 && size !== 4) return m.retNumber(-Errno.EINVAL);
  m.retNumber(csumReplace(skbOf(m).packet, m.lo[2]! >>> 0, m.lo[3]!, m.lo[4]!, size, false, false));
};

/** bpf_l4_csum_replace(skb, offset, from, to, flags): BPF_F_PSEUDO_HDR 0x10, BPF_F_MARK_MANGLED_0 0x20. */
export const l4CsumReplace: HelperFn = (m) => {
  const flags = m.lo[5]!;
  const size = flags & 0xf;
  if (size !== 0 && size !== 2 && size !== 4) return m.retNumber(-Errno.EINVAL);
  m.retNumber(csumReplace(skbOf(m).packet, m.lo[2]! >>> 0, m.lo[3]!, m.lo[4]!, size, (flags & 0x10) !== 0, (flags & 0x20) !== 0));
};

/** bpf_csum_diff(from, from_size, to, to_size, seed): the 32-bit one's-complement difference. */
export const csumDiff: HelperFn = (m) => {
  const fromSize = m.lo[2]! >>> 0;
  const toSize = m.lo[4]! >>> 0;
  if (fromSize % 4 !== 0 || toSize % 4 !== 0) return m.retNumber(-Errno.EINVAL);
  const from = fromSize ? m.argBytes(1, fromSize, false) : new Uint8Array(0);
  const to = toSize ? m.argBytes(3, toSize, false) : new Uint8Array(0);
  // Sum 32-bit words as the kernel's csum_partial does (little-endian host words).
  let sum = m.lo[5]! >>> 0;
  const add = (w: number) => {
    sum += w;
    if (sum > 0xffffffff) sum = (sum % 4294967296) + 1;
  };
  for (let i = 0; i < from.length; i += 4) add(~((from[i]! | (from[i + 1]! << 8) | (from[i + 2]! << 16) | (from[i + 3]! << 24))) >>> 0);
  for (let i = 0; i < to.length; i += 4) add((to[i]! | (to[i + 1]! << 8) | (to[i + 2]! << 16) | (to[i + 3]! << 24)) >>> 0);
  m.ret(sum | 0, 0);
};

/** bpf_redirect(ifindex, flags): TC_ACT_REDIRECT (7) for tc, XDP_REDIRECT (4) for xdp. */
export const redirect: HelperFn = (m) => {
  const flags = m.lo[2]! >>> 0;
  const ctx = m.state.context;
  if ((flags & ~1) !== 0) return m.retNumber(ctx instanceof XdpContext ? 0 : 2);
  const target: RedirectTarget = { ifindex: m.lo[1]! >>> 0, flags };
  m.state.redirect = target;
  m.ret(ctx instanceof XdpContext ? 4 : 7, 0);
};

function xdpOf(m: Machine): XdpContext {
  const ctx = m.state.context;
  if (ctx instanceof XdpContext) return ctx;
  return m.fault('invalid_helper_call', 'this helper needs a struct xdp_md context');
}

/** Minimum frame the kernel keeps after adjust_head (ETH_HLEN). */
const ETH_HLEN = 14;

/** bpf_xdp_adjust_head(xdp_md, delta). */
export const xdpAdjustHead: HelperFn = (m) => {
  const pkt = xdpOf(m).packet;
  const delta = m.lo[2]! | 0;
  const data = pkt.data + delta;
  const meta = pkt.meta === pkt.data ? data : pkt.meta;
  if (data < 0 || pkt.end - data < ETH_HLEN || meta > data) return m.retNumber(-Errno.EINVAL);
  m.retNumber(pkt.setBounds(meta, data, pkt.end) ? 0 : -Errno.EINVAL);
};

/** bpf_xdp_adjust_tail(xdp_md, delta). */
export const xdpAdjustTail: HelperFn = (m) => {
  const pkt = xdpOf(m).packet;
  const delta = m.lo[2]! | 0;
  const end = pkt.end + delta;
  if (end - pkt.data < ETH_HLEN || end > pkt.buffer.length) return m.retNumber(-Errno.EINVAL);
  if (delta > 0) pkt.buffer.fill(0, pkt.end, end);
  m.retNumber(pkt.setBounds(pkt.meta, pkt.data, end) ? 0 : -Errno.EINVAL);
};

/** bpf_xdp_adjust_meta(xdp_md, delta). */
export const xdpAdjustMeta: HelperFn = (m) => {
  const pkt = xdpOf(m).packet;
  const meta = pkt.meta + (m.lo[2]! | 0);
  if (meta > pkt.data || pkt.data - meta > 32 || (pkt.data - meta) % 4 !== 0 || meta < 0) return m.retNumber(-Errno.EACCES);
  m.retNumber(pkt.setBounds(meta, pkt.data, pkt.end) ? 0 : -Errno.EINVAL);
};

