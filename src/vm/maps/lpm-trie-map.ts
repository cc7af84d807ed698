import { Errno } from '../errors.js';
import { MapFlags } from '../../uapi/map-types.js';
import { BaseMap, fail, keyString, type MapHost, type MapParams } from './base-map.js';

interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * BPF_MAP_TYPE_LPM_TRIE: keys are `struct bpf_lpm_trie_key` (u32 prefix length, then the
 * data); a lookup finds the longest stored prefix matching the key's data. Stored as one
 * table per prefix length, searched from the longest length present down.
 */
export class LpmTrieMap extends BaseMap {
  private readonly table = new Map<string, Entry>();
  private readonly maxBits: number;
  /** How many entries each prefix length has. */
  private readonly lengths = new Map<number, number>();
  private sortedLengths: number[] = [];

  constructor(fd: number, params: MapParams, host: MapHost) {
    super(fd, params, host);
    if (params.keySize <= 4 || params.keySize > 4 + 256 || params.valueSize <= 0 || params.maxEntries <= 0) fail('EINVAL', `lpm trie ${params.name}: key must be 5-260 bytes (u32 prefix length + data), value size and max_entries positive`);
    if ((params.flags & MapFlags.NO_PREALLOC) === 0) fail('EINVAL', `lpm trie ${params.name}: the kernel requires BPF_F_NO_PREALLOC`);
    this.maxBits = (params.keySize - 4) * 8;
  }

  private prefixLen(key: Uint8Array): number {
    return (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0;
  }

  /** The table key of `data` masked to `bits`. */
  private masked(key: Uint8Array, bits: number): string {
    const data = key.slice(4);
    const full = bits >> 3;
    if (full < data.length) {
      data[full] = data[full]! & (0xff << (8 - (bits & 7)));
      data.fill(0, full + 1);
    }
    return String.fromCharCode(bits & 0xff, bits >> 8) + keyString(data);
  }

  lookupRef(key: Uint8Array): Uint8Array | undefined {
    const bits = Math.min(this.prefixLen(key), this.maxBits);
    for (const len of this.sortedLengths) {
      if (len > bits) continue;
      const e = this.table.get(this.masked(key, len));
      if (e !== undefined) return e.value;
    }
    return undefined;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    return this.lookupRef(key)?.slice();
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number): number {
    if ((flags & ~4) > 2) return -Errno.EINVAL;
    const bits = this.prefixLen(key);
    if (bits > this.maxBits) return -Errno.EINVAL;
    const k = this.masked(key, bits);
    const e = this.table.get(k);
    if (e !== undefined) {
      if ((flags & 3) === 1) return -Errno.EEXIST;
      e.value.set(value.subarray(0, this.valueSize));
      return 0;
    }
    if ((flags & 3) === 2) return -Errno.ENOENT;
    if (this.table.size >= this.maxEntries) return -Errno.ENOSPC;
    const stored = key.slice();
    this.table.set(k, { key: stored, value: value.slice(0, this.valueSize) });
    this.count(bits, 1);
    return 0;
  }

  deleteElem(key: Uint8Array): number {
    const bits = this.prefixLen(key);
    if (bits > this.maxBits) return -Errno.EINVAL;
    const k = this.masked(key, bits);
    const e = this.table.get(k);
    if (e === undefined) return -Errno.ENOENT;
    this.table.delete(k);
    this.host.releaseValue(e.value);
    this.count(bits, -1);
    return 0;
  }

  private count(bits: number, delta: number): void {
    const n = (this.lengths.get(bits) ?? 0) + delta;
    if (n === 0) this.lengths.delete(bits);
    else this.lengths.set(bits, n);
    this.sortedLengths = [...this.lengths.keys()].sort((a, b) => b - a);
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    const all = [...this.table.entries()];
    if (key !== undefined && this.prefixLen(key) <= this.maxBits) {
      const i = all.findIndex(([k]) => k === this.masked(key, this.prefixLen(key)));
      if (i >= 0) return all[i + 1]?.[1].key.slice();
    }
    return all[0]?.[1].key.slice();
  }
}
