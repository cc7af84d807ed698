import { AddressSpace, Region, type Pointer } from '../memory.js';

/** Room before the packet for bpf_xdp_adjust_head / skb_change_head (XDP_PACKET_HEADROOM). */
export const PACKET_HEADROOM = 256;
/** Room after the packet for bpf_xdp_adjust_tail growth. */
export const PACKET_TAILROOM = 512;

/**
 * A packet as programs see it: bytes in a buffer with head- and tailroom, and a `packet`
 * region covering exactly [data_meta, data_end). Changing the bounds (adjust head, tail
 * or meta) maps a new region, so packet pointers taken before the change fault, as the
 * kernel's verifier invalidates them.
 */
export class PacketBuffer {
  readonly buffer: Uint8Array;
  meta: number;
  data: number;
  end: number;
  region: Region;

  constructor(
    private readonly memory: AddressSpace,
    packet: Uint8Array,
    headroom = PACKET_HEADROOM,
    tailroom = PACKET_TAILROOM,
  ) {
    this.buffer = new Uint8Array(headroom + packet.length + tailroom);
    this.buffer.set(packet, headroom);
    this.meta = headroom;
    this.data = headroom;
    this.end = headroom + packet.length;
    this.region = this.map();
  }

  private map(): Region {
    return this.memory.add(new Region('packet', 'packet', this.buffer.subarray(this.meta, this.end), true));
  }

  /** Move the bounds; false (nothing changed) when they would leave the buffer. */
  setBounds(meta: number, data: number, end: number): boolean {
    if (meta < 0 || meta > data || data > end || end > this.buffer.length) return false;
    this.meta = meta;
    this.data = data;
    this.end = end;
    this.memory.remove(this.region);
    this.region = this.map();
    return true;
  }

  /** Bytes from data to data_end (a live view). */
  get bytes(): Uint8Array {
    return this.buffer.subarray(this.data, this.end);
  }

  get length(): number {
    return this.end - this.data;
  }

  pointer(at: number): Pointer {
    return { lo: AddressSpace.lo(at - this.meta), hi: this.region.hi };
  }

  /** Unmap the region. */
  release(): void {
    this.memory.remove(this.region);
  }
}
