import { Errno } from '../errors.js';
import { BaseMap, check, fail, type MapHost, type MapParams } from './base-map.js';

/**
 * BPF_MAP_TYPE_BLOOM_FILTER: push adds a value, peek answers "maybe present" (0) or
 * "definitely absent" (-ENOENT). `map_extra` bits 0-3 give the number of hash functions
 * (default 5). Sized as the kernel sizes it; the hash differs (no false negatives either
 * way, false positives may differ).
 */
export class BloomFilterMap extends BaseMap {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  private readonly hashes: number;

  constructor(fd: number, params: MapParams, host: MapHost) {
    super(fd, params, host);
    if (params.keySize !== 0 || params.valueSize <= 0 || params.maxEntries <= 0) fail('EINVAL', `bloom filter ${params.name}: key size must be 0, value size and max_entries positive`);
    const extra = Number((params.mapExtra ?? 0n) & 0xfn);
    this.hashes = extra === 0 ? 5 : extra;
    // Kernel: bits = max_entries * nr_hashes / ln 2, rounded up to a power of two.
    let n = Math.ceil((params.maxEntries * this.hashes) / Math.LN2);
    n = Math.max(32, 2 ** Math.ceil(Math.log2(n)));
    this.bits = new Uint32Array(n / 32);
    this.mask = n - 1;
  }

  private hash(value: Uint8Array, i: number): number {
    // FNV-1a with the hash index as seed.
    let h = (0x811c9dc5 ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
    for (let k = 0; k < value.length; k++) h = Math.imul(h ^ value[k]!, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return (h >>> 0) & this.mask;
  }

  pushElem(value: Uint8Array, flags: number): number {
    if (flags !== 0) return -Errno.EINVAL;
    for (let i = 0; i < this.hashes; i++) {
      const b = this.hash(value.subarray(0, this.valueSize), i);
      this.bits[b >>> 5]! |= 1 << (b & 31);
    }
    return 0;
  }

  popElem(out: Uint8Array, remove: boolean): number {
    if (remove) return -Errno.EOPNOTSUPP;
    for (let i = 0; i < this.hashes; i++) {
      const b = this.hash(out.subarray(0, this.valueSize), i);
      if ((this.bits[b >>> 5]! & (1 << (b & 31))) === 0) return -Errno.ENOENT;
    }
    return 0;
  }

  lookupRef(): Uint8Array | undefined {
    return undefined;
  }
  updateElem(_key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.pushElem(value, flags);
  }
  deleteElem(): number {
    return -Errno.EOPNOTSUPP;
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }

  /** Is `value` maybe in the filter? Returns it when maybe present (user space passes the value as the key). */
  override lookup(value: Uint8Array): Uint8Array | undefined {
    if (value.length !== this.valueSize) fail('EINVAL', `bloom filter ${this.name}: value is ${value.length} bytes, not ${this.valueSize}`);
    return this.popElem(value.slice(), false) === 0 ? value.slice() : undefined;
  }
  /** Add `value` (the key must be empty). */
  override update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkKey(key);
    this.checkValue(value);
    check(this.pushElem(value, flags), `bloom filter ${this.name}: push`);
  }
  override *keys(): IterableIterator<Uint8Array> {}
  override *entries(): IterableIterator<[Uint8Array, Uint8Array]> {}
}
