import { SkMsgContext } from '../contexts/sk-msg.js';
import { SockAddrContext } from '../contexts/sock-addr.js';
import { SockOpsContext, SockOpsOp } from '../contexts/sock-ops.js';
import type { LoadedProgram } from '../program.js';
import type { VmRuntime } from '../runtime.js';
import { TcpState, type SimSocket } from './sim-socket.js';

/** What happened to one sendmsg. */
export interface SendResult {
  /** The sk_msg program's verdict. */
  verdict: 'pass' | 'drop';
  /** The socket whose receive queue got the bytes (none when dropped). */
  deliveredTo?: SimSocket;
  /** Did a redirect take the message (rather than the normal TCP path)? */
  redirected: boolean;
  retval: number;
}

/** BPF_SOCK_OPS_STATE_CB_FLAG. */
const STATE_CB_FLAG = 1 << 2;
/** BPF_SOCK_OPS_RTT_CB_FLAG. */
const RTT_CB_FLAG = 1 << 3;

/**
 * Simulated TCP connections for sockops and sk_msg programs: connecting two sockets runs
 * the sockops program for both ends (active and passive established), sending runs the
 * sk_msg program and delivers the bytes where its verdict and redirect say, closing
 * reports the state change to sockops programs that asked for it.
 */
export class SocketSimulation {
  constructor(
    readonly runtime: VmRuntime,
    /** The sockops program (attached to the "cgroup"), if any. */
    readonly sockOps?: LoadedProgram,
    /** The sk_msg program (attached to the sockmap), if any. */
    readonly skMsg?: LoadedProgram,
  ) {}

  /** Run the sockops program for `op` on a socket: its return value and `reply`. */
  runSockOps(socket: SimSocket, op: number, args: readonly number[] = []): { retval: number; reply: number } {
    if (this.sockOps === undefined) return { retval: 1, reply: 0 };
    const mem = this.runtime.memory;
    const ctx = new SockOpsContext(mem, socket, op, args);
    try {
      this.runtime.machine.runRaw(this.sockOps, { args: [ctx.pointer], context: ctx });
      return { retval: this.runtime.machine.lo[0]! >>> 0, reply: ctx.reply };
    } finally {
      ctx.release(mem);
    }
  }

  /**
   * Open a connection between two endpoints: both sockets, peered, with sockops run for
   * each. Each end's initial sequence number is random (from the environment), as the
   * kernel's are, so programs that pair sockets by handshake sequence numbers see
   * distinct connections. `passive: false` leaves out the server's
   * PASSIVE_ESTABLISHED callback: a server outside the programs' cgroup or on another host.
   */
  connect(client: { ip: string; port: number }, server: { ip: string; port: number }, options: { passive?: boolean } = {}): { client: SimSocket; server: SimSocket } {
    const c = this.runtime.createSocket({ localIp: client.ip, localPort: client.port, remoteIp: server.ip, remotePort: server.port });
    const s = this.runtime.createSocket({ localIp: server.ip, localPort: server.port, remoteIp: client.ip, remotePort: client.port });
    c.peer = s;
    s.peer = c;
    // After the handshake each side's next sequence number is its ISN + 1 (the SYN).
    c.sndNxt = (this.runtime.env.randomU32() + 1) >>> 0;
    s.sndNxt = (this.runtime.env.randomU32() + 1) >>> 0;
    c.rcvNxt = s.sndNxt;
    s.rcvNxt = c.sndNxt;
    this.runSockOps(c, SockOpsOp.TCP_CONNECT_CB);
    this.runSockOps(c, SockOpsOp.ACTIVE_ESTABLISHED_CB);
    if (options.passive !== false) this.runSockOps(s, SockOpsOp.PASSIVE_ESTABLISHED_CB);
    return { client: c, server: s };
  }

  /** sendmsg on `socket`: the sk_msg verdict decides where the bytes go. */
  send(socket: SimSocket, data: Uint8Array): SendResult {
    const normal = (): SendResult => {
      socket.sndNxt = (socket.sndNxt + data.length) >>> 0;
      if (socket.peer) {
        socket.peer.rcvNxt = (socket.peer.rcvNxt + data.length) >>> 0;
        socket.peer.received.push(data.slice());
      }
      // Bytes on the TCP path get ACKed, and each ACK gives an RTT sample: that is when the
      // kernel runs RTT_CB for a socket that asked for it. Redirected bytes are never ACKed.
      if (socket.cbFlags & RTT_CB_FLAG) this.runSockOps(socket, SockOpsOp.RTT_CB);
      return { verdict: 'pass', redirected: false, retval: 1, ...(socket.peer ? { deliveredTo: socket.peer } : {}) };
    };
    if (this.skMsg === undefined) return normal();
    const mem = this.runtime.memory;
    const ctx = new SkMsgContext(mem, socket, data.slice());
    try {
      const m = this.runtime.machine;
      m.runRaw(this.skMsg, { args: [ctx.pointer], context: ctx });
      const retval = m.lo[0]! >>> 0;
      const redirect = m.state.msgRedirect as { socket: SimSocket; ingress: boolean } | undefined;
      if (retval !== 1) return { verdict: 'drop', redirected: false, retval };
      if (redirect === undefined) return normal();
      // Ingress: onto the target's own receive queue; egress: out of the target, to its peer.
      const to = redirect.ingress ? redirect.socket : redirect.socket.peer;
      to?.received.push(ctx.message.slice());
      if (to !== undefined && redirect.ingress) {
        // Ingress redirects queue on the target's psock until it reads them (msg_tot_len).
        to.unreadRedirected += ctx.message.length;
        this.runtime.kernelSocket(to).sync();
      }
      return { verdict: 'pass', redirected: true, retval, ...(to ? { deliveredTo: to } : {}) };
    } finally {
      ctx.release(mem);
    }
  }

  /** recvmsg on `socket`: everything delivered so far, leaving its queues (and psock) empty. */
  read(socket: SimSocket): Uint8Array[] {
    const out = socket.received.splice(0);
    socket.unreadRedirected = 0;
    this.runtime.kernelSocket(socket).sync();
    return out;
  }

  /**
   * Run a cgroup sock_addr program (connect4/6, bind4/6, sendmsg4/6, ...) on the address a
   * process passed: whether it is allowed (retval 1) and the address after any rewrite.
   */
  runSockAddr(
    program: LoadedProgram,
    address: { ip: string; port: number; type?: number; protocol?: number },
    hook: 'connect' | 'bind' | 'sendmsg' | 'recvmsg' | 'getpeername' | 'getsockname' = 'connect',
  ): { allowed: boolean; retval: number; ip: string; port: number } {
    const probe = this.runtime.createSocket({ localIp: address.ip, remoteIp: address.ip, localPort: 0, remotePort: address.port });
    const ctx = new SockAddrContext(this.runtime.memory, { family: probe.family, ip: probe.localIp, port: address.port, ...(address.type !== undefined ? { type: address.type } : {}), ...(address.protocol !== undefined ? { protocol: address.protocol } : {}) }, hook === 'sendmsg');
    try {
      this.runtime.machine.runRaw(program, { args: [ctx.pointer], context: ctx });
      const retval = this.runtime.machine.lo[0]! >>> 0;
      const out = ctx.address;
      return { allowed: retval === 1, retval, ip: formatIp(out.ip), port: out.port };
    } finally {
      this.runtime.memory.remove(ctx.region);
    }
  }

  /**
   * Close a socket: report TCP_CLOSE to a sockops program that enabled state callbacks,
   * then unlink it from every sock map (the kernel does both as the socket closes).
   */
  close(socket: SimSocket): void {
    const old = socket.state;
    socket.state = TcpState.CLOSE;
    if (socket.cbFlags & STATE_CB_FLAG) this.runSockOps(socket, SockOpsOp.STATE_CB, [old, TcpState.CLOSE]);
    this.runtime.closeSocket(socket);
  }
}

function formatIp(ip: Uint8Array): string {
  if (ip.length === 4) return [...ip].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return groups.join(':');
}
