import type { Btf } from '../../btf/btf.js';
import { VmLoadError } from '../errors.js';
import { AddressSpace, Region, type Pointer } from '../memory.js';
import type { SimSocket } from './sim-socket.js';

/**
 * Where the few kernel fields the vm simulates sit in `struct tcp_sock` (which begins with
 * `struct sock`) and `struct sk_psock`. CO-RE programs are relocated against a target BTF,
 * so the simulated memory must use that same target's offsets: build the layout with
 * {@link kernelSocketLayout} from the BTF the collection was relocated against.
 */
export interface KernelSocketLayout {
  tcpSockSize: number;
  /** struct sock: sk_user_data (pointer), sk_rcvbuf (int). */
  skUserData: number;
  skRcvbuf: number;
  /** struct tcp_sock: is_mptcp (bool); undefined when the kernel has no MPTCP. */
  isMptcp: number | undefined;
  psockSize: number;
  /** struct sk_psock: sk (pointer), msg_tot_len (u32). */
  psockSk: number;
  psockMsgTotLen: number;
}

/**
 * The layout of the flavoured local structs in bpf/mesh (`sock___mesh`, `tcp_sock___mesh`,
 * `sk_psock___mesh`): what an object compiled with those views reads when it is loaded
 * without CO-RE relocation. The two socket views share one region here (its size is the
 * larger of the two); test/vm/mesh-sim.test.ts checks these numbers against mesh.o's BTF.
 */
export const LOCAL_MESH_LAYOUT: KernelSocketLayout = { tcpSockSize: 40, skUserData: 16, skRcvbuf: 24, isMptcp: 0, psockSize: 16, psockSk: 0, psockMsgTotLen: 8 };

/** The layout of a target kernel, read from its BTF (e.g. /sys/kernel/btf/vmlinux). */
export function kernelSocketLayout(btf: Btf): KernelSocketLayout {
  const struct = (name: string) => {
    const t = btf.findByName(name, 'struct');
    if (t === undefined) throw new VmLoadError(`target BTF has no struct ${name}`);
    return t.id;
  };
  const at = (id: number, name: string, optional = false): number | undefined => {
    const m = btf.findMember(id, name);
    if (m === undefined && !optional) throw new VmLoadError(`target BTF: ${btf.describe(id)} has no member ${name}`);
    return m === undefined ? undefined : m.bitOffset / 8;
  };
  const sock = struct('sock');
  const tcp = struct('tcp_sock');
  const psock = struct('sk_psock');
  return {
    tcpSockSize: btf.sizeof(tcp),
    skUserData: at(sock, 'sk_user_data')!,
    skRcvbuf: at(sock, 'sk_rcvbuf')!,
    isMptcp: at(tcp, 'is_mptcp', true),
    psockSize: btf.sizeof(psock),
    psockSk: at(psock, 'sk')!,
    psockMsgTotLen: at(psock, 'msg_tot_len')!,
  };
}

/**
 * The kernel memory behind one simulated socket: a `struct tcp_sock` (what
 * bpf_skc_to_tcp_sock returns) and, once the socket is in a sockmap or sockhash, its
 * `struct sk_psock`, with sk_user_data pointing at it as the kernel's sockmap sets it.
 * Only the layout's fields are filled; every other byte reads as zero. Both regions are
 * read-only to programs (BTF pointers allow loads only) and readable by
 * bpf_probe_read_kernel, which is how bpf/mesh reads a peer's unread bytes.
 */
export class KernelSocket {
  readonly tcpSock: Region;
  readonly psock: Region;

  constructor(
    private readonly memory: AddressSpace,
    private readonly layout: KernelSocketLayout,
    readonly socket: SimSocket,
  ) {
    this.tcpSock = memory.add(new Region('memory', `struct tcp_sock of socket ${socket.fd}`, new Uint8Array(layout.tcpSockSize), false));
    this.psock = memory.add(new Region('memory', `struct sk_psock of socket ${socket.fd}`, new Uint8Array(layout.psockSize), false));
    this.sync();
  }

  get tcpSockPointer(): Pointer {
    return { lo: AddressSpace.lo(0), hi: this.tcpSock.hi };
  }

  /** Copy the socket's state into the simulated kernel fields (call after it changes). */
  sync(): void {
    const l = this.layout;
    const s = this.socket;
    const t = this.tcpSock.view;
    const base = AddressSpace.lo(0);
    // sk_user_data: the psock's address while the socket is in a sock map (no flag bits set).
    t.setUint32(l.skUserData, s.sockMaps > 0 ? base : 0, true);
    t.setUint32(l.skUserData + 4, s.sockMaps > 0 ? this.psock.hi : 0, true);
    t.setInt32(l.skRcvbuf, s.rcvbuf, true);
    if (l.isMptcp !== undefined) t.setUint8(l.isMptcp, s.mptcp ? 1 : 0);
    const p = this.psock.view;
    p.setUint32(l.psockSk, base, true);
    p.setUint32(l.psockSk + 4, this.tcpSock.hi, true);
    p.setUint32(l.psockMsgTotLen, s.unreadRedirected, true);
  }

  release(): void {
    this.memory.remove(this.tcpSock);
    this.memory.remove(this.psock);
  }
}
