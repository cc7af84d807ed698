import { BpfSockContext } from '../contexts/bpf-sock.js';
import { SkMsgContext } from '../contexts/sk-msg.js';
import { SockOpsContext } from '../contexts/sock-ops.js';
import { Errno } from '../errors.js';
import type { Machine } from '../interpreter.js';
import { SkStorageMap, SockMapMap } from '../maps/sock-maps.js';
import type { SimSocket } from '../sockets/sim-socket.js';
import type { HelperFn } from './helper.js';
import { argMap } from './map-helpers.js';

/** The simulated socket behind a context or bpf_sock pointer in register `i`. */
function socketOf(m: Machine, i: number): SimSocket | undefined {
  const r = m.memory.regionOf(m.hi[i]!);
  const c = r?.context;
  if (c instanceof SockOpsContext || c instanceof SkMsgContext || c instanceof BpfSockContext) return c.socket;
  return undefined;
}

function sockMap(m: Machine, i: number): SockMapMap {
  const map = argMap(m, i);
  if (!(map instanceof SockMapMap)) return m.fault('invalid_helper_call', `map ${map.name} is not a sockmap or sockhash`);
  return map;
}

/** bpf_get_socket_cookie(ctx): the socket's cookie, 0 without a socket. */
export const getSocketCookie: HelperFn = (m) => {
  const s = socketOf(m, 1);
  if (s === undefined) return m.ret(0, 0);
  m.ret(Number(s.cookie & 0xffffffffn) | 0, Number(s.cookie >> 32n) | 0);
};

/** bpf_sock_map_update / bpf_sock_hash_update(skops, map, key, flags). */
export const sockMapUpdate: HelperFn = (m) => {
  const s = socketOf(m, 1);
  if (s === undefined) return m.fault('invalid_helper_call', 'r1 is not a bpf_sock_ops context');
  const map = sockMap(m, 2);
  m.retNumber(map.put(m.argBytes(3, map.keySize, false).slice(), s, m.lo[4]! >>> 0));
};

/** bpf_sock_ops_cb_flags_set(skops, flags): enables callbacks; returns the bits it could not set. */
export const sockOpsCbFlagsSet: HelperFn = (m) => {
  const s = socketOf(m, 1);
  if (s === undefined) return m.fault('invalid_helper_call', 'r1 is not a bpf_sock_ops context');
  const flags = m.lo[2]! >>> 0;
  const ALL = 0x7f;
  s.cbFlags = flags & ALL;
  m.retNumber(flags & ~ALL ? -Errno.EINVAL : 0);
};

function msgRedirect(hash: boolean): HelperFn {
  return (m) => {
    const map = sockMap(m, 2);
    const key = hash ? m.argBytes(3, map.keySize, false) : new Uint8Array(new Uint32Array([m.lo[3]! >>> 0]).buffer);
    const flags = m.lo[4]! >>> 0;
    const target = map.socketAt(key);
    if (target === undefined || (flags & ~1) !== 0) return m.ret(0, 0); // SK_DROP
    m.state.msgRedirect = { socket: target, ingress: (flags & 1) !== 0 };
    m.ret(1, 0); // SK_PASS
  };
}
export const msgRedirectMap = msgRedirect(false);
export const msgRedirectHash = msgRedirect(true);

/** bpf_msg_apply_bytes / cork_bytes: the simulation delivers whole messages. */
export const msgBytesNoop: HelperFn = (m) => m.ret(0, 0);

/** bpf_sk_storage_get(map, sk, value, flags): pointer to the socket's value, or NULL. */
export const skStorageGet: HelperFn = (m) => {
  const map = argMap(m, 1);
  if (!(map instanceof SkStorageMap)) return m.fault('invalid_helper_call', `map ${map.name} is not an sk_storage map`);
  const s = socketOf(m, 2);
  if (s === undefined) return m.ret(0, 0);
  const init = m.lo[3] === 0 && m.hi[3] === 0 ? undefined : m.argBytes(3, map.valueSize, false);
  const v = map.storage(s, ((m.lo[4]! >>> 0) & 1) !== 0, init);
  if (v === undefined) return m.ret(0, 0);
  const p = m.runtime.valuePointer(map, v);
  m.ret(p.lo, p.hi);
};

/** bpf_sk_storage_delete(map, sk). */
export const skStorageDelete: HelperFn = (m) => {
  const map = argMap(m, 1);
  if (!(map instanceof SkStorageMap)) return m.fault('invalid_helper_call', `map ${map.name} is not an sk_storage map`);
  const s = socketOf(m, 2);
  m.retNumber(s === undefined ? -Errno.ENOENT : map.drop(s));
};

/**
 * bpf_skc_to_tcp_sock(sk): a BTF pointer to the socket's simulated `struct tcp_sock`
 * (see KernelSocket), NULL when the argument is not a socket. Every simulated socket is
 * a full TCP socket.
 */
export const skcToTcpSock: HelperFn = (m) => {
  const s = socketOf(m, 1);
  if (s === undefined) return m.ret(0, 0);
  const p = m.runtime.kernelSocket(s).tcpSockPointer;
  m.ret(p.lo, p.hi);
};
