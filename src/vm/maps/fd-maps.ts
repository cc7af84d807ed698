import { Errno } from '../errors.js';
import type { LoadedProgram } from '../program.js';
import { BaseMap, fail, keyString, type MapHost, type MapParams } from './base-map.js';
import type { VmMap } from './vm-map.js';

/** Map hosts that can resolve fds to programs and maps (the runtime). */
export interface FdHost extends MapHost {
  programByFd(fd: number): LoadedProgram | undefined;
  mapByFd(fd: number): VmMap | undefined;
}

function u32(bytes: Uint8Array): number {
  return (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
}

function u32Bytes(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v, true);
  return out;
}

/**
 * Arrays whose values are fds (prog array, array of maps): u32 keys and values; user
 * space stores fds, programs get the objects (through bpf_tail_call, or a map lookup
 * returning the inner map). Programs cannot update them.
 */
abstract class FdArrayMap<T> extends BaseMap {
  protected readonly slots: (T | undefined)[];
  protected readonly fds: number[];

  constructor(fd: number, params: MapParams, protected readonly fdHost: FdHost) {
    super(fd, params, fdHost);
    if (params.keySize !== 4 || params.valueSize !== 4 || params.maxEntries <= 0) fail('EINVAL', `map ${params.name}: key and value must be 4 bytes and max_entries positive`);
    this.slots = new Array(params.maxEntries).fill(undefined);
    this.fds = new Array(params.maxEntries).fill(0);
  }

  protected abstract resolve(fd: number): T | undefined;

  /** The object in slot `index`. */
  at(index: number): T | undefined {
    return index < this.maxEntries ? this.slots[index] : undefined;
  }

  lookupRef(): Uint8Array | undefined {
    return undefined;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const i = u32(key);
    return this.slots[i] === undefined ? undefined : u32Bytes(this.fds[i]!);
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if (cpu >= 0) return -Errno.EINVAL;
    if (flags > 1 && flags !== 2) return -Errno.EINVAL;
    const i = u32(key);
    if (i >= this.maxEntries) return -Errno.E2BIG;
    const fd = u32(value);
    const obj = this.resolve(fd);
    if (obj === undefined) return -Errno.EBADF;
    this.slots[i] = obj;
    this.fds[i] = fd;
    return 0;
  }

  deleteElem(key: Uint8Array): number {
    const i = u32(key);
    if (i >= this.maxEntries) return -Errno.E2BIG;
    if (this.slots[i] === undefined) return -Errno.ENOENT;
    this.slots[i] = undefined;
    return 0;
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    const i = key === undefined ? -1 : u32(key);
    const next = key === undefined || i >= this.maxEntries ? 0 : i + 1;
    return next >= this.maxEntries ? undefined : u32Bytes(next);
  }

  override *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (let i = 0; i < this.maxEntries; i++) if (this.slots[i] !== undefined) yield [u32Bytes(i), u32Bytes(this.fds[i]!)];
  }
}

/** BPF_MAP_TYPE_PROG_ARRAY: the targets of bpf_tail_call. */
export class ProgArrayMap extends FdArrayMap<LoadedProgram> {
  /** Programs must all have one type, the type of the first stored (kernel: bpf_prog_map_compatible). */
  private progType: number | undefined;

  protected resolve(fd: number): LoadedProgram | undefined {
    const p = this.fdHost.programByFd(fd);
    if (p === undefined) return undefined;
    if (this.progType !== undefined && p.type !== this.progType) return undefined;
    this.progType = p.type;
    return p;
  }
}

/** BPF_MAP_TYPE_ARRAY_OF_MAPS. */
export class ArrayOfMapsMap extends FdArrayMap<VmMap> {
  protected resolve(fd: number): VmMap | undefined {
    return this.fdHost.mapByFd(fd);
  }
  /** The inner map for a key (what a program's lookup returns). */
  innerMap(key: Uint8Array): VmMap | undefined {
    return this.at(u32(key));
  }
}

/** BPF_MAP_TYPE_HASH_OF_MAPS. */
export class HashOfMapsMap extends BaseMap {
  private readonly table = new Map<string, { key: Uint8Array; map: VmMap; fd: number }>();

  constructor(fd: number, params: MapParams, private readonly fdHost: FdHost) {
    super(fd, params, fdHost);
    if (params.keySize <= 0 || params.valueSize !== 4 || params.maxEntries <= 0) fail('EINVAL', `hash of maps ${params.name}: value must be 4 bytes (a map fd)`);
  }

  innerMap(key: Uint8Array): VmMap | undefined {
    return this.table.get(keyString(key))?.map;
  }

  lookupRef(): Uint8Array | undefined {
    return undefined;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const e = this.table.get(keyString(key));
    return e === undefined ? undefined : u32Bytes(e.fd);
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if (cpu >= 0) return -Errno.EINVAL;
    const k = keyString(key);
    const exists = this.table.has(k);
    if ((flags & 3) === 1 && exists) return -Errno.EEXIST;
    if ((flags & 3) === 2 && !exists) return -Errno.ENOENT;
    if (!exists && this.table.size >= this.maxEntries) return -Errno.E2BIG;
    const fd = u32(value);
    const map = this.fdHost.mapByFd(fd);
    if (map === undefined) return -Errno.EBADF;
    this.table.set(k, { key: key.slice(), map, fd });
    return 0;
  }

  deleteElem(key: Uint8Array): number {
    return this.table.delete(keyString(key)) ? 0 : -Errno.ENOENT;
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
