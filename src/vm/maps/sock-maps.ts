import { Errno } from '../errors.js';
import { MapType } from '../../uapi/map-types.js';
import type { SimSocket } from '../sockets/sim-socket.js';
import { BaseMap, fail, keyString, type MapHost, type MapParams } from './base-map.js';

/** Hosts that resolve socket fds (the runtime). */
export interface SocketHost extends MapHost {
  socketByFd(fd: number): SimSocket | undefined;
}

function u32(bytes: Uint8Array): number {
  return (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
}

/**
 * BPF_MAP_TYPE_SOCKMAP and SOCKHASH over simulated sockets: user space stores socket fds,
 * sockops programs insert their socket (bpf_sock_map_update / bpf_sock_hash_update), and
 * sk_msg programs redirect to the socket found (bpf_msg_redirect_map / _hash). A lookup
 * from user space returns the socket cookie (8-byte values) or fd (4-byte values).
 */
export class SockMapMap extends BaseMap {
  private readonly table = new Map<string, { key: Uint8Array; socket: SimSocket }>();
  private readonly isArray: boolean;

  constructor(fd: number, params: MapParams, private readonly sockets: SocketHost) {
    super(fd, params, sockets);
    this.isArray = params.type === MapType.SOCKMAP;
    if ((this.isArray && params.keySize !== 4) || params.keySize <= 0 || (params.valueSize !== 4 && params.valueSize !== 8) || params.maxEntries <= 0) {
      fail('EINVAL', `sock map ${params.name}: ${this.isArray ? 'keys must be 4 bytes, ' : ''}values 4 or 8 bytes`);
    }
  }

  /** The socket stored at `key`. */
  socketAt(key: Uint8Array): SimSocket | undefined {
    return this.table.get(keyString(key))?.socket;
  }

  /** Drop every entry holding `socket` (the kernel unlinks a closing socket from its sock maps). */
  forget(socket: SimSocket): void {
    for (const [k, e] of this.table) {
      if (e.socket !== socket) continue;
      socket.sockMaps--;
      this.table.delete(k);
    }
  }

  /** Store a socket (from a program or user space): 0 or -errno. */
  put(key: Uint8Array, socket: SimSocket, flags: number): number {
    if ((flags & ~3) !== 0 || (flags & 3) === 3) return -Errno.EINVAL;
    if (this.isArray && u32(key) >= this.maxEntries) return -Errno.E2BIG;
    const k = keyString(key);
    const exists = this.table.has(k);
    if ((flags & 3) === 1 && exists) return -Errno.EEXIST;
    if ((flags & 3) === 2 && !exists) return -Errno.ENOENT;
    if (!exists && !this.isArray && this.table.size >= this.maxEntries) return -Errno.E2BIG;
    // Reference counts decide whether the socket keeps its psock (see SimSocket.sockMaps).
    const old = this.table.get(k)?.socket;
    if (old !== undefined) old.sockMaps--;
    socket.sockMaps++;
    this.table.set(k, { key: key.slice(), socket });
    return 0;
  }

  lookupRef(): Uint8Array | undefined {
    return undefined;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const s = this.socketAt(key);
    if (s === undefined) return undefined;
    const out = new Uint8Array(this.valueSize);
    if (this.valueSize === 8) new DataView(out.buffer).setBigUint64(0, s.cookie, true);
    else new DataView(out.buffer).setUint32(0, s.fd, true);
    return out;
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if (cpu >= 0) return -Errno.EOPNOTSUPP;
    const socket = this.sockets.socketByFd(u32(value));
    if (socket === undefined) return -Errno.EBADF;
    return this.put(key, socket, flags);
  }

  deleteElem(key: Uint8Array): number {
    const k = keyString(key);
    const entry = this.table.get(k);
    if (entry === undefined) return -Errno.ENOENT;
    entry.socket.sockMaps--;
    this.table.delete(k);
    return 0;
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    const all = [...this.table.values()];
    if (key !== undefined) {
      const k = keyString(key);
      const i = all.findIndex((e) => keyString(e.key) === k);
      if (i >= 0) return all[i + 1]?.key.slice();
    }
    return all[0]?.key.slice();
  }
}

/**
 * BPF_MAP_TYPE_SK_STORAGE: a value per socket, created by bpf_sk_storage_get with
 * BPF_SK_STORAGE_GET_F_CREATE. User space addresses it by socket fd.
 */
export class SkStorageMap extends BaseMap {
  constructor(fd: number, params: MapParams, private readonly sockets: SocketHost) {
    super(fd, params, sockets);
    if (params.keySize !== 4 || params.valueSize <= 0) fail('EINVAL', `sk_storage map ${params.name}: key must be 4 bytes (an fd), value size positive`);
  }

  /** The socket's value, creating it from `init` (or zeros) when asked. */
  storage(socket: SimSocket, create: boolean, init?: Uint8Array): Uint8Array | undefined {
    let v = socket.storage.get(this);
    if (v === undefined && create) {
      v = new Uint8Array(this.valueSize);
      if (init !== undefined) v.set(init.subarray(0, this.valueSize));
      socket.storage.set(this, v);
    }
    return v;
  }

  drop(socket: SimSocket): number {
    const v = socket.storage.get(this);
    if (v === undefined) return -Errno.ENOENT;
    socket.storage.delete(this);
    this.host.releaseValue(v);
    return 0;
  }

  lookupRef(key: Uint8Array): Uint8Array | undefined {
    const s = this.sockets.socketByFd(u32(key));
    return s === undefined ? undefined : s.storage.get(this);
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number): number {
    const s = this.sockets.socketByFd(u32(key));
    if (s === undefined) return -Errno.EBADF;
    const exists = s.storage.has(this);
    if ((flags & 3) === 1 && exists) return -Errno.EEXIST;
    if ((flags & 3) === 2 && !exists) return -Errno.ENOENT;
    this.storage(s, true)!.set(value.subarray(0, this.valueSize));
    return 0;
  }

  deleteElem(key: Uint8Array): number {
    const s = this.sockets.socketByFd(u32(key));
    return s === undefined ? -Errno.EBADF : this.drop(s);
  }

  nextKey(): Uint8Array | undefined {
    return undefined;
  }
  override *keys(): IterableIterator<Uint8Array> {}
}
