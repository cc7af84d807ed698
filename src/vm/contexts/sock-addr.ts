import { AddressSpace, Region, type ContextAccess, type Pointer } from '../memory.js';

/** Size of `struct bpf_sock_addr`. */
export const SOCK_ADDR_SIZE = 72;

export const SockAddr = { user_family: 0, user_ip4: 4, user_ip6: 8, user_port: 24, family: 28, type: 32, protocol: 36, msg_src_ip4: 40, msg_src_ip6: 44, sk: 64 } as const;

/**
 * `struct bpf_sock_addr` for cgroup sock_addr programs (bind, connect, sendmsg, ...): the
 * address the user passed, which the program may read (any size within a u32 field) and
 * rewrite (user_ip4, user_ip6, user_port as 4-byte stores; msg_src_* for sendmsg hooks).
 * Addresses and the port are in network byte order, as in `struct sockaddr`.
 */
export class SockAddrContext implements ContextAccess {
  readonly bytes = new Uint8Array(SOCK_ADDR_SIZE);
  readonly region: Region;

  constructor(
    memory: AddressSpace,
    init: { family: number; ip: Uint8Array; port: number; type?: number; protocol?: number },
    private readonly sendmsg = false,
  ) {
    const v = new DataView(this.bytes.buffer);
    v.setUint32(SockAddr.user_family, init.family, true);
    if (init.ip.length === 4) this.bytes.set(init.ip, SockAddr.user_ip4);
    else this.bytes.set(init.ip, SockAddr.user_ip6);
    v.setUint16(SockAddr.user_port, init.port, false);
    v.setUint32(SockAddr.family, init.family, true);
    v.setUint32(SockAddr.type, init.type ?? 1, true);
    v.setUint32(SockAddr.protocol, init.protocol ?? 6, true);
    this.region = memory.add(new Region('context', 'context (struct bpf_sock_addr)', this.bytes, false, this));
  }

  get pointer(): Pointer {
    return { lo: AddressSpace.lo(0), hi: this.region.hi };
  }

  /** The (possibly rewritten) destination: address bytes and host-order port. */
  get address(): { ip: Uint8Array; port: number } {
    const v = new DataView(this.bytes.buffer);
    const v4 = v.getUint32(SockAddr.user_family, true) === 2;
    return { ip: this.bytes.slice(v4 ? 4 : 8, v4 ? 8 : 24), port: v.getUint16(SockAddr.user_port, false) };
  }

  load(offset: number, size: number, out: Int32Array): boolean {
    if (offset === SockAddr.sk) {
      if (size !== 8) return false;
      out[0] = 0;
      out[1] = 0;
      return true;
    }
    if (size > 4 || offset % size !== 0 || offset >= SockAddr.sk) return false;
    const v = new DataView(this.bytes.buffer);
    out[0] = size === 4 ? v.getInt32(offset, true) : size === 2 ? v.getUint16(offset, true) : v.getUint8(offset);
    out[1] = 0;
    return true;
  }

  store(offset: number, size: number, lo: number): boolean {
    if (size !== 4 || offset % 4 !== 0) return false;
    const user = offset === SockAddr.user_ip4 || (offset >= SockAddr.user_ip6 && offset < SockAddr.user_port) || offset === SockAddr.user_port;
    const msgSrc = this.sendmsg && offset >= SockAddr.msg_src_ip4 && offset < SockAddr.sk;
    if (!user && !msgSrc) return false;
    new DataView(this.bytes.buffer).setInt32(offset, lo, true);
    return true;
  }
}
