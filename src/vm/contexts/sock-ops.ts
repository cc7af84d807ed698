import { AddressSpace, Region, type ContextAccess, type Pointer } from '../memory.js';
import { AF_INET, type SimSocket } from '../sockets/sim-socket.js';
import { bswap16 } from '../int64.js';
import { BpfSockContext, narrowLoad, networkWord } from './bpf-sock.js';

/** Size of `struct bpf_sock_ops`. */
export const SOCK_OPS_SIZE = 224;

/** `enum` BPF_SOCK_OPS_* operations. */
export const SockOpsOp = {
  VOID: 0,
  TIMEOUT_INIT: 1,
  RWND_INIT: 2,
  TCP_CONNECT_CB: 3,
  ACTIVE_ESTABLISHED_CB: 4,
  PASSIVE_ESTABLISHED_CB: 5,
  NEEDS_ECN: 6,
  BASE_RTT: 7,
  RTO_CB: 8,
  RETRANS_CB: 9,
  STATE_CB: 10,
  TCP_LISTEN_CB: 11,
  RTT_CB: 12,
} as const;

/**
 * `struct bpf_sock_ops` for a simulated socket: op and args, addresses in network order,
 * remote_port in network order in the upper 16 bits and local_port in host order (as the
 * kernel's context rewrite produces them), TCP sequence state, and `sk`. Programs may
 * write `reply`/`replylong` and `sk_txhash`.
 */
export class SockOpsContext implements ContextAccess {
  readonly region: Region;
  readonly bytes = new Uint8Array(SOCK_OPS_SIZE);
  private readonly sock: BpfSockContext;

  constructor(
    memory: AddressSpace,
    readonly socket: SimSocket,
    op: number,
    args: readonly number[] = [],
  ) {
    const v = new DataView(this.bytes.buffer);
    v.setUint32(0, op, true);
    args.slice(0, 4).forEach((a, i) => v.setUint32(4 + i * 4, a, true));
    this.sock = new BpfSockContext(memory, socket);
    this.region = memory.add(new Region('context', 'context (struct bpf_sock_ops)', this.bytes, false, this));
  }

  get pointer(): Pointer {
    return { lo: AddressSpace.lo(0), hi: this.region.hi };
  }

  /** `reply` after the run (args[0]'s slot). */
  get reply(): number {
    return new DataView(this.bytes.buffer).getUint32(4, true);
  }

  release(memory: AddressSpace): void {
    memory.remove(this.region);
    memory.remove(this.sock.region);
  }

  private field(offset: number): number {
    const s = this.socket;
    const v4 = s.family === AF_INET;
    if (offset >= 32 && offset < 48) return v4 ? 0 : networkWord(s.remoteIp, offset - 32);
    if (offset >= 48 && offset < 64) return v4 ? 0 : networkWord(s.localIp, offset - 48);
    switch (offset) {
      case 20: return s.family;
      case 24: return v4 ? networkWord(s.remoteIp, 0) : 0;
      case 28: return v4 ? networkWord(s.localIp, 0) : 0;
      case 64: return bswap16(s.remotePort) << 16;
      case 68: return s.localPort;
      case 72: return 1; // is_fullsock
      case 76: return 10; // snd_cwnd
      case 84: return s.cbFlags;
      case 88: return s.state;
      case 100: return s.rcvNxt;
      case 104: return s.sndNxt;
      case 108: return s.sndNxt;
      case 112: return 1460;
      default: return new DataView(this.bytes.buffer).getInt32(offset, true);
    }
  }

  load(offset: number, size: number, out: Int32Array): boolean {
    if (offset === 184 || offset === 192 || offset === 200) {
      if (size !== 8) return false;
      const p = offset === 184 ? this.sock.pointer : { lo: 0, hi: 0 };
      out[0] = p.lo;
      out[1] = p.hi;
      return true;
    }
    if (offset >= SOCK_OPS_SIZE || offset % size !== 0) return false;
    if (size === 8) {
      if (offset !== 168 && offset !== 176 && offset !== 216) return false;
      out[0] = 0;
      out[1] = 0;
      return true;
    }
    const v = this.field(offset & ~3);
    return narrowLoad(v, offset, size, out);
  }

  store(offset: number, size: number, lo: number): boolean {
    const writable = (offset >= 4 && offset + size <= 20) || offset === 164;
    if (!writable || size !== 4) return false;
    new DataView(this.bytes.buffer).setInt32(offset, lo, true);
    return true;
  }
}
