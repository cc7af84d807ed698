import { VmErrnoError } from '../errors.js';
import { AddressSpace, Region, type ContextAccess } from '../memory.js';
import { ProgType } from '../../uapi/prog-types.js';
import type { PacketBuffer } from './packet.js';

/** Size of `struct __sk_buff`. */
export const SK_BUFF_SIZE = 192;

/** Offsets of `struct __sk_buff` fields (include/uapi/linux/bpf.h). */
export const SkBuff = {
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  vlan_present: 20,
  vlan_tci: 24,
  vlan_proto: 28,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  tc_index: 44,
  cb: 48,
  hash: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  napi_id: 84,
  family: 88,
  remote_ip4: 92,
  local_ip4: 96,
  remote_ip6: 100,
  local_ip6: 116,
  remote_port: 132,
  local_port: 136,
  data_meta: 140,
  flow_keys: 144,
  tstamp: 152,
  wire_len: 160,
  gso_segs: 164,
  sk: 168,
  gso_size: 176,
  tstamp_type: 180,
  hwtstamp: 184,
} as const;

/** Index of the loopback device, which BPF_PROG_TEST_RUN runs skb programs on. */
export const LOOPBACK_IFINDEX = 1;

const TC = [ProgType.SCHED_CLS, ProgType.SCHED_ACT];

/** Fields user space may set in a test run's ctx_in (others must be zero), and that come back out. */
const USER_FIELDS: [number, number][] = [
  [SkBuff.mark, 4],
  [SkBuff.priority, 4],
  [SkBuff.ingress_ifindex, 4],
  [SkBuff.ifindex, 4],
  [SkBuff.cb, 20],
  [SkBuff.tstamp, 8],
  [SkBuff.wire_len, 4],
  [SkBuff.gso_segs, 4],
  [SkBuff.gso_size, 4],
  [SkBuff.hwtstamp, 8],
];

/**
 * `struct __sk_buff` for socket filter, tc and cgroup skb programs. Loads of data,
 * data_end and data_meta produce packet pointers (the kernel rewrites them into loads of
 * skb->data and friends); which fields a program may read or write depends on its type,
 * as in the kernel's `*_is_valid_access`.
 */
export class SkBuffContext implements ContextAccess {
  readonly bytes = new Uint8Array(SK_BUFF_SIZE);
  private readonly view = new DataView(this.bytes.buffer);
  readonly region: Region;
  private readonly isTc: boolean;

  constructor(
    memory: AddressSpace,
    readonly packet: PacketBuffer,
    readonly progType: number,
    ctxIn?: Uint8Array,
  ) {
    this.isTc = TC.includes(progType as 3 | 4);
    if (ctxIn !== undefined) this.applyUserContext(ctxIn);
    const v = this.view;
    v.setUint32(SkBuff.len, packet.length, true);
    v.setUint32(SkBuff.pkt_type, this.pktType(), true);
    v.setUint16(SkBuff.protocol, this.protocolBe16(), true);
    if (v.getUint32(SkBuff.ifindex, true) === 0) v.setUint32(SkBuff.ifindex, LOOPBACK_IFINDEX, true);
    // As convert___skb_to_skb: wire_len defaults to skb->len only when a ctx was passed;
    // without one the kernel leaves it 0.
    if (ctxIn !== undefined && v.getUint32(SkBuff.wire_len, true) === 0) v.setUint32(SkBuff.wire_len, packet.length, true);
    this.region = memory.add(new Region('context', 'context (struct __sk_buff)', this.bytes, false, this));
  }

  /** The frame as received, with its Ethernet header (kept for pkt_type and protocol). */
  private get l2(): Uint8Array {
    return this.isTc ? this.packet.bytes : this.packet.buffer.subarray(this.packet.data - 14, this.packet.end);
  }

  private pktType(): number {
    const f = this.l2;
    if (f.length < 6) return 0;
    if (f.subarray(0, 6).every((b) => b === 0xff)) return 1; // PACKET_BROADCAST
    if (f[0]! & 1) return 2; // PACKET_MULTICAST
    // The loopback device's address is all zeros: anything else is for another host.
    return f.subarray(0, 6).every((b) => b === 0) ? 0 : 3;
  }

  private protocolBe16(): number {
    const f = this.l2;
    // skb->protocol is big-endian; the u32 field holds it as stored.
    return f.length >= 14 ? f[12]! | (f[13]! << 8) : 0;
  }

  private applyUserContext(ctx: Uint8Array): void {
    const allowed = new Uint8Array(SK_BUFF_SIZE);
    for (const [off, size] of USER_FIELDS) allowed.fill(1, off, off + size);
    for (let i = 0; i < ctx.length; i++) {
      if (ctx[i] !== 0 && (i >= SK_BUFF_SIZE || !allowed[i])) {
        throw new VmErrnoError('EINVAL', `ctx_in: byte ${i} of struct __sk_buff may not be set in a test run (only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp)`);
      }
    }
    this.bytes.set(ctx.subarray(0, SK_BUFF_SIZE));
  }

  /** The context as a test run returns it: the user-settable fields, the rest zero. */
  userContext(): Uint8Array {
    const out = new Uint8Array(SK_BUFF_SIZE);
    for (const [off, size] of USER_FIELDS) out.set(this.bytes.subarray(off, off + size), off);
    return out;
  }

  load(offset: number, size: number, out: Int32Array): boolean {
    if (offset === SkBuff.data || offset === SkBuff.data_end || offset === SkBuff.data_meta) {
      if (size !== 4 || this.progType === ProgType.SOCKET_FILTER) return false;
      if (offset === SkBuff.data_meta && !this.isTc) return false;
      const at = offset === SkBuff.data_end ? this.packet.end : offset === SkBuff.data ? this.packet.data : this.packet.data;
      const p = this.packet.pointer(at);
      out[0] = p.lo;
      out[1] = p.hi;
      return true;
    }
    if (offset >= SkBuff.flow_keys && offset < SkBuff.flow_keys + 8) return false;
    if (offset >= SkBuff.sk && offset < SkBuff.sk + 8) {
      if (offset !== SkBuff.sk || size !== 8) return false;
      out[0] = 0; // no socket in a test run
      out[1] = 0;
      return true;
    }
    if (offset + size > SK_BUFF_SIZE || offset % size !== 0) return false;
    const wide = offset === SkBuff.tstamp || offset === SkBuff.hwtstamp;
    if (size === 8 && !wide) return false;
    const v = this.view;
    out[0] = size === 1 ? v.getUint8(offset) : size === 2 ? v.getUint16(offset, true) : v.getInt32(offset, true);
    out[1] = size === 8 ? v.getInt32(offset + 4, true) : 0;
    return true;
  }

  store(offset: number, size: number, lo: number, hi: number): boolean {
    const inCb = offset >= SkBuff.cb && offset + size <= SkBuff.cb + 20;
    const tcWritable = offset === SkBuff.mark || offset === SkBuff.priority || offset === SkBuff.tc_index || offset === SkBuff.tc_classid || offset === SkBuff.queue_mapping;
    const cgroupWritable = offset === SkBuff.mark || offset === SkBuff.priority;
    let ok = inCb && offset % size === 0 && size <= 4;
    if (!ok && size === 4) ok = this.isTc ? tcWritable : this.progType === ProgType.CGROUP_SKB && cgroupWritable;
    if (!ok && offset === SkBuff.tstamp && size === 8) ok = this.isTc;
    if (!ok) return false;
    const v = this.view;
    if (size === 1) v.setUint8(offset, lo);
    else if (size === 2) v.setUint16(offset, lo, true);
    else v.setInt32(offset, lo, true);
    if (size === 8) v.setInt32(offset + 4, hi, true);
    return true;
  }

  /** Pointer to the context (r1 at entry). */
  get pointer(): { lo: number; hi: number } {
    return { lo: AddressSpace.lo(0), hi: this.region.hi };
  }
}
