import { Errno } from '../errors.js';
import { MapType } from '../../uapi/map-types.js';
import { BaseMap, fail, keyString, type MapHost, type MapParams } from './base-map.js';
import { roundUp8 } from './vm-map.js';

interface Entry {
  key: Uint8Array;
  /** One value, or for per-CPU maps one per CPU (views into `storage`). */
  values: Uint8Array[];
  storage: Uint8Array;
}

/**
 * BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH. Elements keep insertion
 * order (the LRU variants move an element to the back when a program looks it up and
 * evict from the front when full, where the kernel's approximate LRU evicts the
 * least-recently referenced).
 */
export class HashMap extends BaseMap {
  private readonly table = new Map<string | number, Entry>();
  /** 4-byte keys are looked up as numbers (no string per lookup). */
  private readonly tableKey: (key: Uint8Array) => string | number;
  private readonly perCpu: boolean;
  private readonly lru: boolean;

  constructor(fd: number, params: MapParams, host: MapHost) {
    super(fd, params, host);
    if (params.keySize <= 0 || params.valueSize <= 0 || params.maxEntries <= 0) fail('EINVAL', `hash map ${params.name}: key size, value size and max_entries must be positive`);
    this.perCpu = params.type === MapType.PERCPU_HASH || params.type === MapType.LRU_PERCPU_HASH;
    this.lru = params.type === MapType.LRU_HASH || params.type === MapType.LRU_PERCPU_HASH;
    this.tableKey = params.keySize === 4 ? (k) => (k[0]! | (k[1]! << 8) | (k[2]! << 16) | (k[3]! << 24)) >>> 0 : keyString;
  }

  override get userValueSize(): number {
    return this.perCpu ? roundUp8(this.valueSize) * this.cpus : this.valueSize;
  }

  /** Number of elements. */
  get size(): number {
    return this.table.size;
  }

  lookupRef(key: Uint8Array, cpu: number): Uint8Array | undefined {
    const k = this.tableKey(key);
    const e = this.table.get(k);
    if (e === undefined) return undefined;
    if (this.lru && cpu >= 0) {
      this.table.delete(k);
      this.table.set(k, e);
    }
    return e.values[this.perCpu ? cpu : 0];
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const e = this.table.get(this.tableKey(key));
    return e === undefined ? undefined : e.storage.slice();
  }

  /** `cpu` -1: a user-space update, which for per-CPU maps sets every CPU's value. */
  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if ((flags & ~4) > 2) return -Errno.EINVAL;
    const k = this.tableKey(key);
    const e = this.table.get(k);
    if (e !== undefined) {
      if ((flags & 3) === 1) return -Errno.EEXIST;
      this.write(e, value, cpu);
      return 0;
    }
    if ((flags & 3) === 2) return -Errno.ENOENT;
    if (this.table.size >= this.maxEntries) {
      if (!this.lru) return -Errno.E2BIG;
      const [oldestKey, oldest] = this.table.entries().next().value as [string | number, Entry];
      this.table.delete(oldestKey);
      for (const v of oldest.values) this.host.releaseValue(v);
    }
    const stride = roundUp8(this.valueSize);
    const storage = new Uint8Array(this.perCpu ? stride * this.cpus : this.valueSize);
    const values = this.perCpu ? Array.from({ length: this.cpus }, (_, c) => storage.subarray(c * stride, c * stride + this.valueSize)) : [storage];
    const entry: Entry = { key: key.slice(), values, storage };
    this.write(entry, value, cpu);
    this.table.set(k, entry);
    return 0;
  }

  private write(e: Entry, value: Uint8Array, cpu: number): void {
    if (!this.perCpu) e.storage.set(value.subarray(0, this.valueSize));
    else if (cpu < 0) e.storage.set(value.subarray(0, e.storage.length));
    else {
      // A program's update of a per-CPU element sets this CPU's value and leaves the others.
      e.values[cpu]!.set(value.subarray(0, this.valueSize));
    }
  }

  deleteElem(key: Uint8Array): number {
    const k = this.tableKey(key);
    const e = this.table.get(k);
    if (e === undefined) return -Errno.ENOENT;
    this.table.delete(k);
    for (const v of e.values) this.host.releaseValue(v);
    return 0;
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    if (key !== undefined) {
      const k = this.tableKey(key);
      if (this.table.has(k)) {
        let found = false;
        for (const [kk, e] of this.table) {
          if (found) return e.key.slice();
          if (kk === k) found = true;
        }
        return undefined;
      }
    }
    // The kernel returns the first key when the given one is not in the map.
    const first = this.table.values().next();
    return first.done ? undefined : first.value.key.slice();
  }

  override *keys(): IterableIterator<Uint8Array> {
    for (const e of [...this.table.values()]) yield e.key.slice();
  }
}
