import { Errno } from '../errors.js';
import { MapType } from '../../uapi/map-types.js';
import { BaseMap, fail, type MapHost, type MapParams } from './base-map.js';
import { roundUp8 } from './vm-map.js';

/**
 * BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY: `max_entries` preallocated, zeroed values indexed
 * by a u32 key; elements cannot be deleted. Global data sections (.data, .bss, .rodata)
 * are one-element arrays.
 */
export class ArrayMap extends BaseMap {
  private readonly storage: Uint8Array;
  private readonly stride: number;
  private readonly perCpu: boolean;
  /** Stable views per element (and CPU), so a value keeps one region in the vm. */
  private readonly views: (Uint8Array | undefined)[];

  /**
   * @param shared keep the values in a SharedArrayBuffer (or in this one, to attach to a map
   *   another worker created): programs in several workers then update them concurrently,
   *   atomic instructions through Atomics.
   */
  constructor(fd: number, params: MapParams, host: MapHost, initialData?: Uint8Array, shared?: boolean | SharedArrayBuffer) {
    super(fd, params, host);
    if (params.keySize !== 4) fail('EINVAL', `array map ${params.name}: keys must be 4 bytes, not ${params.keySize}`);
    if (params.valueSize <= 0 || params.maxEntries <= 0) fail('EINVAL', `array map ${params.name}: value size and max_entries must be positive`);
    this.perCpu = params.type === MapType.PERCPU_ARRAY;
    this.stride = roundUp8(params.valueSize);
    const copies = this.perCpu ? this.cpus : 1;
    const bytes = this.stride * copies * params.maxEntries;
    if (shared instanceof SharedArrayBuffer && shared.byteLength !== bytes) fail('EINVAL', `array map ${params.name}: the shared buffer is ${shared.byteLength} bytes, the map needs ${bytes}`);
    this.storage = new Uint8Array(shared instanceof SharedArrayBuffer ? shared : shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.views = new Array(params.maxEntries * copies).fill(undefined);
    if (initialData !== undefined) this.storage.set(initialData.subarray(0, Math.min(initialData.length, params.valueSize)));
  }

  override get userValueSize(): number {
    return this.perCpu ? this.stride * this.cpus : this.valueSize;
  }

  private index(key: Uint8Array): number {
    return (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0;
  }

  private view(slot: number): Uint8Array {
    let v = this.views[slot];
    if (v === undefined) {
      v = this.storage.subarray(slot * this.stride, slot * this.stride + this.valueSize);
      this.views[slot] = v;
    }
    return v;
  }

  lookupRef(key: Uint8Array, cpu: number): Uint8Array | undefined {
    const i = this.index(key);
    if (i >= this.maxEntries) return undefined;
    return this.view(this.perCpu ? i * this.cpus + Math.max(cpu, 0) : i);
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const i = this.index(key);
    if (i >= this.maxEntries) return undefined;
    if (!this.perCpu) return this.view(i).slice();
    const start = i * this.cpus * this.stride;
    return this.storage.slice(start, start + this.cpus * this.stride);
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if ((flags & ~4) > 2) return -Errno.EINVAL;
    const i = this.index(key);
    if (i >= this.maxEntries) return -Errno.E2BIG;
    if ((flags & 3) === 1) return -Errno.EEXIST;
    if (this.perCpu && cpu < 0) {
      const start = i * this.cpus * this.stride;
      for (let c = 0; c < this.cpus; c++) this.storage.set(value.subarray(c * this.stride, c * this.stride + this.valueSize), start + c * this.stride);
    } else {
      this.view(this.perCpu ? i * this.cpus + cpu : i).set(value.subarray(0, this.valueSize));
    }
    return 0;
  }

  deleteElem(): number {
    return -Errno.EINVAL;
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    const i = key === undefined ? -1 : this.index(key);
    const next = key === undefined || i >= this.maxEntries ? 0 : i + 1;
    if (next >= this.maxEntries) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, next, true);
    return out;
  }

  /** The SharedArrayBuffer holding the values, for a map created shared (pass it to workers). */
  get sharedBuffer(): SharedArrayBuffer | undefined {
    return this.storage.buffer instanceof SharedArrayBuffer ? this.storage.buffer : undefined;
  }

  /** The whole storage (for global data: the section's bytes). */
  get bytes(): Uint8Array {
    return this.storage;
  }
}
