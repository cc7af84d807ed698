import { AddressSpace, Region, type ContextAccess } from '../memory.js';
import type { PacketBuffer } from './packet.js';
import { LOOPBACK_IFINDEX } from './sk-buff.js';

/** Size of `struct xdp_md`. */
export const XDP_MD_SIZE = 24;

export const XdpMd = { data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20 } as const;

/**
 * `struct xdp_md`: every field is a u32 read with a 4-byte load; data, data_end and
 * data_meta become packet pointers. XDP programs cannot write their context.
 */
export class XdpContext implements ContextAccess {
  readonly region: Region;
  ingressIfindex = LOOPBACK_IFINDEX;
  rxQueueIndex = 0;

  constructor(
    memory: AddressSpace,
    readonly packet: PacketBuffer,
  ) {
    this.region = memory.add(new Region('context', 'context (struct xdp_md)', new Uint8Array(XDP_MD_SIZE), false, this));
  }

  load(offset: number, size: number, out: Int32Array): boolean {
    if (size !== 4 || offset % 4 !== 0 || offset >= XDP_MD_SIZE) return false;
    out[1] = 0;
    switch (offset) {
      case XdpMd.data:
      case XdpMd.data_end:
      case XdpMd.data_meta: {
        const at = offset === XdpMd.data ? this.packet.data : offset === XdpMd.data_end ? this.packet.end : this.packet.meta;
        const p = this.packet.pointer(at);
        out[0] = p.lo;
        out[1] = p.hi;
        return true;
      }
      case XdpMd.ingress_ifindex:
        out[0] = this.ingressIfindex;
        return true;
      case XdpMd.rx_queue_index:
        out[0] = this.rxQueueIndex;
        return true;
      default:
        out[0] = 0;
        return true;
    }
  }

  store(): boolean {
    return false;
  }

  /** The context as a test run returns it: data_meta/data offsets as the kernel reports them. */
  userContext(): Uint8Array {
    const out = new Uint8Array(XDP_MD_SIZE);
    const v = new DataView(out.buffer);
    v.setUint32(XdpMd.data, this.packet.data - this.packet.meta, true);
    v.setUint32(XdpMd.data_end, this.packet.end - this.packet.meta, true);
    v.setUint32(XdpMd.ingress_ifindex, this.ingressIfindex, true);
    v.setUint32(XdpMd.rx_queue_index, this.rxQueueIndex, true);
    return out;
  }

  get pointer(): { lo: number; hi: number } {
    return { lo: AddressSpace.lo(0), hi: this.region.hi };
  }
}
