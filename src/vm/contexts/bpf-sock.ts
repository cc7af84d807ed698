import { bswap16 } from '../int64.js';
import { AddressSpace, Region, type ContextAccess, type Pointer } from '../memory.js';
import { AF_INET, type SimSocket } from '../sockets/sim-socket.js';

/** Size of `struct bpf_sock`. */
export const BPF_SOCK_SIZE = 80;

/** Read a u32 holding network-order bytes as a little-endian load would see them. */
export function networkWord(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}


/**
 * A 1-, 2- or 4-byte context load of the u32 field `v` at `offset` (narrow loads read
 * the addressed bytes of the little-endian word, as the kernel's ctx conversion does),
 * zero-extended into `out`. Always true: the caller has checked the access.
 */
export function narrowLoad(v: number, offset: number, size: number, out: Int32Array | number[]): true {
  out[0] = size === 4 ? v : (v >>> ((offset & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  out[1] = 0;
  return true;
}

/**
 * `struct bpf_sock` of a simulated socket (what `skops->sk` and `msg->sk` point to):
 * read-only, u32 fields, ports as the kernel exposes them (src_port host order, dst_port
 * network order).
 */
export class BpfSockContext implements ContextAccess {
  readonly region: Region;

  constructor(
    memory: AddressSpace,
    readonly socket: SimSocket,
  ) {
    this.region = memory.add(new Region('context', 'struct bpf_sock', new Uint8Array(BPF_SOCK_SIZE), false, this));
  }

  get pointer(): Pointer {
    return { lo: AddressSpace.lo(0), hi: this.region.hi };
  }

  load(offset: number, size: number, out: Int32Array): boolean {
    if (size > 4 || offset % size !== 0 || offset >= BPF_SOCK_SIZE) return false;
    const s = this.socket;
    const v4 = s.family === AF_INET;
    let v = 0;
    if (offset >= 28 && offset < 44) v = v4 ? 0 : networkWord(s.localIp, offset - 28);
    else if (offset >= 56 && offset < 72) v = v4 ? 0 : networkWord(s.remoteIp, offset - 56);
    else {
      switch (offset & ~3) {
        case 4: v = s.family; break;
        case 8: v = 1; break; // SOCK_STREAM
        case 12: v = 6; break; // IPPROTO_TCP
        case 24: v = v4 ? networkWord(s.localIp, 0) : 0; break;
        case 44: v = s.localPort; break;
        case 48: v = bswap16(s.remotePort); break;
        case 52: v = v4 ? networkWord(s.remoteIp, 0) : 0; break;
        case 72: v = s.state; break;
        case 76: v = -1; break;
        default: v = 0;
      }
    }
    return narrowLoad(v, offset, size, out);
  }

  store(): boolean {
    return false;
  }
}
