import { AddressSpace, Region, type ContextAccess, type Pointer } from '../memory.js';
import { AF_INET, type SimSocket } from '../sockets/sim-socket.js';
import { bswap16 } from '../int64.js';
import { BpfSockContext, narrowLoad, networkWord } from './bpf-sock.js';

/** Size of `struct sk_msg_md`. */
export const SK_MSG_MD_SIZE = 80;

/**
 * `struct sk_msg_md` for one sendmsg on a simulated socket: data/data_end point at the
 * message bytes, size is its length, addresses and ports as in bpf_sock_ops.
 */
export class SkMsgContext implements ContextAccess {
  readonly region: Region;
  readonly data: Region;
  private readonly sock: BpfSockContext;

  constructor(
    memory: AddressSpace,
    readonly socket: SimSocket,
    readonly message: Uint8Array,
  ) {
    this.sock = new BpfSockContext(memory, socket);
    this.data = memory.add(new Region('packet', 'message', message, true));
    this.region = memory.add(new Region('context', 'context (struct sk_msg_md)', new Uint8Array(SK_MSG_MD_SIZE), false, this));
  }

  get pointer(): Pointer {
    return { lo: AddressSpace.lo(0), hi: this.region.hi };
  }

  release(memory: AddressSpace): void {
    memory.remove(this.region);
    memory.remove(this.data);
    memory.remove(this.sock.region);
  }

  load(offset: number, size: number, out: Int32Array): boolean {
    if (offset === 0 || offset === 8 || offset === 72) {
      if (size !== 8) return false;
      const p = offset === 72 ? this.sock.pointer : { lo: AddressSpace.lo(offset === 0 ? 0 : this.message.length), hi: this.data.hi };
      out[0] = p.lo;
      out[1] = p.hi;
      return true;
    }
    if (size > 4 || offset % size !== 0 || offset >= 72) return false;
    const s = this.socket;
    const v4 = s.family === AF_INET;
    const word = offset & ~3;
    let v: number;
    if (word >= 28 && word < 44) v = v4 ? 0 : networkWord(s.remoteIp, word - 28);
    else if (word >= 44 && word < 60) v = v4 ? 0 : networkWord(s.localIp, word - 44);
    else {
      switch (word) {
        case 16: v = s.family; break;
        case 20: v = v4 ? networkWord(s.remoteIp, 0) : 0; break;
        case 24: v = v4 ? networkWord(s.localIp, 0) : 0; break;
        case 60: v = bswap16(s.remotePort) << 16; break;
        case 64: v = s.localPort; break;
        case 68: v = this.message.length; break;
        default: v = 0;
      }
    }
    return narrowLoad(v, offset, size, out);
  }

  store(): boolean {
    return false;
  }
}
