import { Errno } from '../errors.js';
import { MapType } from '../../uapi/map-types.js';
import { lockWord, unlockWord } from './atomic-lock.js';
import { BaseMap, fail, type MapHost, type MapParams } from './base-map.js';
import { roundUp8 } from './vm-map.js';

/*
 * Layout of the SharedArrayBuffer, in Int32 words then 8-byte aligned elements:
 *   header   magic, element count, free-list lock, free-list head, buckets, max_entries,
 *            key size, value bytes per element (a check for workers that attach)
 *   buckets  per bucket: its lock word and the head of its chain
 *   elements max_entries preallocated slots: next (slot + 1, 0 = end), hash, key, value(s)
 * Slots are named by index + 1 in links so that 0 is "none" in a zero-filled buffer.
 */
const MAGIC = 0x48534d31;
const H_MAGIC = 0;
const H_COUNT = 1;
const H_FREE_LOCK = 2;
const H_FREE_HEAD = 3;
const H_BUCKETS = 4;
const H_MAX = 5;
const H_KEY = 6;
const H_VALUE = 7;
const HEADER_WORDS = 8;
/** Element header: next and hash, one word each. */
const ELEM_HEADER = 8;

/**
 * BPF_MAP_TYPE_HASH and PERCPU_HASH in a SharedArrayBuffer, for programs and user code in
 * several worker_threads at once. Like the kernel's preallocated hash table: a fixed
 * pool of max_entries elements on a free list (E2BIG when it is empty), buckets of
 * chains, and a lock per bucket (an {@link lockWord} mutex here, a raw spin lock there)
 * held by every update and delete; the free list has its own lock. Lookups take the
 * bucket lock too, where the kernel's walk the chain under RCU: stricter, and it keeps a
 * reader off a chain another worker is relinking.
 *
 * Values live in their element, so a program's pointer to one writes the shared map, and
 * its atomic instructions on it are Atomics. Updating an existing key writes its value in
 * place under the bucket lock (the kernel swaps in a fresh element for a non-per-CPU
 * hash, so a reader racing the update could see a half-written value here). A deleted
 * element's pointers stop working in the worker that deleted it; in other workers they
 * point at the recycled slot, as pointers to a preallocated kernel element do.
 */
export class SharedHashMap extends BaseMap {
  readonly sharedBuffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly perCpu: boolean;
  private readonly nBuckets: number;
  private readonly stride: number;
  private readonly valueBytes: number;
  private readonly keyBytes: number;
  private readonly elemSize: number;
  private readonly elemBase: number;
  /** Stable views of values per slot (and CPU), so each keeps one region in this worker. */
  private readonly views: (Uint8Array | undefined)[];

  /** Bytes of the SharedArrayBuffer a map with these parameters needs. */
  static bufferSize(params: MapParams, cpus: number): number {
    const g = geometry(params, cpus);
    return g.elemBase + g.elemSize * params.maxEntries;
  }

  /**
   * @param shared true to create the map in a new SharedArrayBuffer, or the buffer of a map
   *   another worker created (with the same parameters and CPU count) to attach to it.
   */
  constructor(fd: number, params: MapParams, host: MapHost, shared: true | SharedArrayBuffer) {
    super(fd, params, host);
    if (params.type !== MapType.HASH && params.type !== MapType.PERCPU_HASH) fail('EINVAL', `map ${params.name}: only hash and per-CPU hash maps can be shared this way`);
    if (params.keySize <= 0 || params.valueSize <= 0 || params.maxEntries <= 0) fail('EINVAL', `hash map ${params.name}: key size, value size and max_entries must be positive`);
    const g = geometry(params, this.cpus);
    this.perCpu = params.type === MapType.PERCPU_HASH;
    this.nBuckets = g.nBuckets;
    this.stride = g.stride;
    this.valueBytes = g.valueBytes;
    this.keyBytes = g.keyBytes;
    this.elemSize = g.elemSize;
    this.elemBase = g.elemBase;
    const size = g.elemBase + g.elemSize * params.maxEntries;
    if (shared instanceof SharedArrayBuffer && shared.byteLength !== size) fail('EINVAL', `hash map ${params.name}: the shared buffer is ${shared.byteLength} bytes, the map needs ${size}`);
    this.sharedBuffer = shared instanceof SharedArrayBuffer ? shared : new SharedArrayBuffer(size);
    this.words = new Int32Array(this.sharedBuffer);
    this.bytes = new Uint8Array(this.sharedBuffer);
    this.views = new Array(params.maxEntries * (this.perCpu ? this.cpus : 1)).fill(undefined);
    const w = this.words;
    if (shared === true) {
      w[H_BUCKETS] = g.nBuckets;
      w[H_MAX] = params.maxEntries;
      w[H_KEY] = params.keySize;
      w[H_VALUE] = g.valueBytes;
      for (let s = 0; s < params.maxEntries; s++) w[this.nextAt(s)] = s + 1 < params.maxEntries ? s + 2 : 0;
      w[H_FREE_HEAD] = 1;
      Atomics.store(w, H_MAGIC, MAGIC);
    } else if (Atomics.load(w, H_MAGIC) !== MAGIC || w[H_BUCKETS] !== g.nBuckets || w[H_MAX] !== params.maxEntries || w[H_KEY] !== params.keySize || w[H_VALUE] !== g.valueBytes) {
      fail('EINVAL', `hash map ${params.name}: the shared buffer holds a map of other parameters`);
    }
  }

  override get userValueSize(): number {
    return this.perCpu ? this.stride * this.cpus : this.valueSize;
  }

  /** Number of elements. */
  get size(): number {
    return Atomics.load(this.words, H_COUNT);
  }

  lookupRef(key: Uint8Array, cpu: number): Uint8Array | undefined {
    const h = hash(key);
    const lock = this.bucketLock(h);
    lockWord(this.words, lock);
    const s = this.find(lock + 1, key, h);
    unlockWord(this.words, lock);
    return s < 0 ? undefined : this.view(s, this.perCpu ? Math.max(cpu, 0) : 0);
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const h = hash(key);
    const lock = this.bucketLock(h);
    lockWord(this.words, lock);
    try {
      const s = this.find(lock + 1, key, h);
      if (s < 0) return undefined;
      const at = this.valueAt(s);
      return this.bytes.slice(at, at + this.userValueSize);
    } finally {
      unlockWord(this.words, lock);
    }
  }

  /** `cpu` -1: a user-space update, which for per-CPU maps sets every CPU's value. */
  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if ((flags & ~4) > 2) return -Errno.EINVAL;
    const w = this.words;
    const h = hash(key);
    const lock = this.bucketLock(h);
    lockWord(w, lock);
    try {
      const found = this.find(lock + 1, key, h);
      if (found >= 0) {
        if ((flags & 3) === 1) return -Errno.EEXIST;
        this.write(found, value, cpu);
        return 0;
      }
      if ((flags & 3) === 2) return -Errno.ENOENT;
      const s = this.allocate();
      if (s < 0) return -Errno.E2BIG;
      const at = this.elemBase + s * this.elemSize;
      w[this.nextAt(s) + 1] = h;
      this.bytes.set(key, at + ELEM_HEADER);
      this.bytes.fill(0, this.valueAt(s), this.valueAt(s) + this.valueBytes);
      this.write(s, value, cpu);
      // Link only once the element is complete (all under the bucket lock).
      w[this.nextAt(s)] = w[lock + 1]!;
      w[lock + 1] = s + 1;
      Atomics.add(w, H_COUNT, 1);
      return 0;
    } finally {
      unlockWord(w, lock);
    }
  }

  deleteElem(key: Uint8Array): number {
    const w = this.words;
    const h = hash(key);
    const lock = this.bucketLock(h);
    let s: number;
    lockWord(w, lock);
    try {
      let link = lock + 1;
      s = w[link]! - 1;
      while (s >= 0 && !(w[this.nextAt(s) + 1] === h && this.keyEquals(s, key))) {
        link = this.nextAt(s);
        s = w[link]! - 1;
      }
      if (s < 0) return -Errno.ENOENT;
      w[link] = w[this.nextAt(s)]!;
      Atomics.sub(w, H_COUNT, 1);
    } finally {
      unlockWord(w, lock);
    }
    const copies = this.perCpu ? this.cpus : 1;
    for (let c = 0; c < copies; c++) {
      const v = this.views[s * copies + c];
      if (v !== undefined) this.host.releaseValue(v);
    }
    this.release(s);
    return 0;
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    const w = this.words;
    let start = 0;
    if (key !== undefined) {
      const h = hash(key);
      const lock = this.bucketLock(h);
      lockWord(w, lock);
      try {
        const s = this.find(lock + 1, key, h);
        if (s >= 0) {
          const next = w[this.nextAt(s)]! - 1;
          if (next >= 0) return this.keyOf(next);
          start = (h & (this.nBuckets - 1)) + 1;
        }
      } finally {
        unlockWord(w, lock);
      }
      // A key not in the map: the kernel starts over from the first key.
    }
    for (let b = start; b < this.nBuckets; b++) {
      const lock = HEADER_WORDS + 2 * b;
      lockWord(w, lock);
      const first = w[lock + 1]! - 1;
      const k = first >= 0 ? this.keyOf(first) : undefined;
      unlockWord(w, lock);
      if (k !== undefined) return k;
    }
    return undefined;
  }

  private bucketLock(h: number): number {
    return HEADER_WORDS + 2 * (h & (this.nBuckets - 1));
  }

  /** Word index of slot `s`'s next link (its hash is the word after). */
  private nextAt(s: number): number {
    return (this.elemBase + s * this.elemSize) >> 2;
  }

  private valueAt(s: number): number {
    return this.elemBase + s * this.elemSize + ELEM_HEADER + this.keyBytes;
  }

  private find(head: number, key: Uint8Array, h: number): number {
    const w = this.words;
    let s = w[head]! - 1;
    while (s >= 0) {
      if (w[this.nextAt(s) + 1] === h && this.keyEquals(s, key)) return s;
      s = w[this.nextAt(s)]! - 1;
    }
    return -1;
  }

  private keyEquals(s: number, key: Uint8Array): boolean {
    const b = this.bytes;
    const at = this.elemBase + s * this.elemSize + ELEM_HEADER;
    for (let i = 0; i < key.length; i++) if (b[at + i] !== key[i]) return false;
    return true;
  }

  private keyOf(s: number): Uint8Array {
    const at = this.elemBase + s * this.elemSize + ELEM_HEADER;
    return this.bytes.slice(at, at + this.keySize);
  }

  private view(s: number, c: number): Uint8Array {
    const copies = this.perCpu ? this.cpus : 1;
    let v = this.views[s * copies + c];
    if (v === undefined) {
      const at = this.valueAt(s) + c * this.stride;
      v = this.bytes.subarray(at, at + this.valueSize);
      this.views[s * copies + c] = v;
    }
    return v;
  }

  private write(s: number, value: Uint8Array, cpu: number): void {
    const at = this.valueAt(s);
    if (!this.perCpu) this.bytes.set(value.subarray(0, this.valueSize), at);
    else if (cpu < 0) this.bytes.set(value.subarray(0, this.stride * this.cpus), at);
    // A program's update of a per-CPU element sets this CPU's value and leaves the others.
    else this.bytes.set(value.subarray(0, this.valueSize), at + cpu * this.stride);
  }

  /** Pop a free slot, or -1 when all max_entries are in use. */
  private allocate(): number {
    const w = this.words;
    lockWord(w, H_FREE_LOCK);
    const s = w[H_FREE_HEAD]! - 1;
    if (s >= 0) w[H_FREE_HEAD] = w[this.nextAt(s)]!;
    unlockWord(w, H_FREE_LOCK);
    return s;
  }

  private release(s: number): void {
    const w = this.words;
    lockWord(w, H_FREE_LOCK);
    w[this.nextAt(s)] = w[H_FREE_HEAD]!;
    w[H_FREE_HEAD] = s + 1;
    unlockWord(w, H_FREE_LOCK);
  }
}

function geometry(params: MapParams, cpus: number): { nBuckets: number; stride: number; valueBytes: number; keyBytes: number; elemSize: number; elemBase: number } {
  // As the kernel: a power-of-two number of buckets, at least max_entries.
  let nBuckets = 1;
  while (nBuckets < params.maxEntries) nBuckets *= 2;
  const stride = roundUp8(params.valueSize);
  const valueBytes = params.type === MapType.PERCPU_HASH ? stride * cpus : stride;
  const keyBytes = roundUp8(params.keySize);
  const elemBase = roundUp8((HEADER_WORDS + 2 * nBuckets) * 4);
  return { nBuckets, stride, valueBytes, keyBytes, elemSize: ELEM_HEADER + keyBytes + valueBytes, elemBase };
}

/** FNV-1a over the key (the kernel uses jhash with a random seed; any spread will do). */
function hash(key: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  return h | 0;
}
