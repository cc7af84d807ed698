/**
 * A simulated TCP socket for sockops and sk_msg programs: addresses, ports, TCP state and
 * sequence numbers as the programs read them, per-socket storage (sk_storage maps) and
 * the bytes delivered to it by sk_msg redirects.
 */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** Linux TCP states (include/net/tcp_states.h). */
export const TcpState = { ESTABLISHED: 1, SYN_SENT: 2, SYN_RECV: 3, FIN_WAIT1: 4, FIN_WAIT2: 5, TIME_WAIT: 6, CLOSE: 7, CLOSE_WAIT: 8, LAST_ACK: 9, LISTEN: 10, CLOSING: 11 } as const;

export interface SimSocketOptions {
  family?: typeof AF_INET | typeof AF_INET6;
  /** Dotted IPv4 or IPv6 text ("::ffff:10.0.0.1" allowed). */
  localIp: string;
  remoteIp: string;
  localPort: number;
  remotePort: number;
  state?: number;
}

function parseIp(text: string, family: number): Uint8Array {
  if (family === AF_INET) {
    const parts = text.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new RangeError(`not an IPv4 address: ${text}`);
    return Uint8Array.from(parts);
  }
  const out = new Uint8Array(16);
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    out.set(parseIp(v4[1]!, AF_INET), 12);
    s = s.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    if (v4 && i >= 6) return;
    const v = parseInt(g || '0', 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

let nextCookie = 4096n;

export class SimSocket {
  /** bpf_get_socket_cookie's value: unique per socket. */
  readonly cookie: bigint;
  readonly family: number;
  /** Addresses in network byte order: 4 bytes (IPv4) or 16 (IPv6). */
  readonly localIp: Uint8Array;
  readonly remoteIp: Uint8Array;
  readonly localPort: number;
  readonly remotePort: number;
  state: number;
  sndNxt = 1000;
  rcvNxt = 5000;
  /** BPF_SOCK_OPS_*_CB_FLAG bits a sockops program enabled. */
  cbFlags = 0;
  /** sk_storage values, by map. */
  readonly storage = new Map<object, Uint8Array>();
  /** Bytes delivered to this socket's receive queue (by the stack or a redirect). */
  readonly received: Uint8Array[] = [];
  /** The connection's other end, when the simulation connected one. */
  peer: SimSocket | undefined;
  /** How many sockmap/sockhash entries hold it: the kernel gives it a psock while any do. */
  sockMaps = 0;
  /** sk_rcvbuf, as the simulated kernel socket reports it. */
  rcvbuf = 131072;
  /** An MPTCP subflow (tcp_sock.is_mptcp)? */
  mptcp = false;
  /** Redirected bytes on its ingress queue not yet read (the psock's msg_tot_len). */
  unreadRedirected = 0;

  constructor(
    /** Its "fd" in the runtime (what sockmap updates from user space take). */
    readonly fd: number,
    options: SimSocketOptions,
  ) {
    this.cookie = nextCookie++;
    this.family = options.family ?? (options.localIp.includes(':') ? AF_INET6 : AF_INET);
    this.localIp = parseIp(options.localIp, this.family);
    this.remoteIp = parseIp(options.remoteIp, this.family);
    this.localPort = options.localPort;
    this.remotePort = options.remotePort;
    this.state = options.state ?? TcpState.ESTABLISHED;
  }
}
