/**
 * A kernel map, owned by its fd: element operations, iteration, batches, freeze, pin and
 * mmap. Element operations are the hot path: they copy the key (and value) into scratch
 * buffers whose addresses were written once, and call bpf() through the shared,
 * pre-registered attr (element-attr.ts), so a lookup allocates only its result.
 */
import type { BpfMap } from '../api/types.js';
import { MapFlags, MapType } from '../uapi/index.js';
import { BpfCmd, MapBatchAttr, MapElemAttr } from './bpf-attr.js';
import { MapInfoLayout } from './bpf-info.js';
import { possibleCpus } from './cpus.js';
import { addressWords, elementCall, ElemWord, type ElementCall } from './element-attr.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import { OwnedFd } from './fd.js';
import { readField, readField64, readString, stableBuffer } from './layout.js';
import { isPerCpu, mapKind, mapTypeLabel } from './map-kinds.js';
import { native } from './native.js';
import { fdById, objectInfo, openPinnedFd, pinFd } from './object-fd.js';
import { tryBpf } from './syscall.js';

/** What a KernelMap needs to know about the kernel object it owns. */
export interface KernelMapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** One batch of a batch lookup: `count` keys and values, packed. */
export interface MapBatch {
  keys: Uint8Array;
  values: Uint8Array;
  count: number;
}

const PAGE_SIZE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

/** Bytes per CPU slot of a per-CPU value: the kernel rounds each up to 8. */
function perCpuStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/**
 * Copy `size` bytes from `from` to `to`. Keys and values are mostly a few bytes, where a
 * plain loop beats TypedArray.prototype.set (which checks overlap and types per call);
 * larger copies go through set.
 */
function copySmall(to: Uint8Array, from: Uint8Array, size: number): void {
  if (size > 32) {
    to.set(size === from.length ? from : from.subarray(0, size));
    return;
  }
  for (let i = 0; i < size; i++) to[i] = from[i]!;
}

export class KernelMap implements BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly userValueSize: number;
  /** Values are one slot per possible CPU. */
  readonly perCpu: boolean;

  readonly #owned: OwnedFd;
  /** The fd number, cached for the hot path; -1 once closed. */
  #fd: number;
  readonly #key: Uint8Array;
  readonly #value: Uint8Array;
  readonly #nextKey: Uint8Array;
  readonly #keyWords: [number, number];
  readonly #valueWords: [number, number];
  readonly #nextKeyWords: [number, number];
  #frozen = false;
  #mapping: ArrayBuffer | undefined;
  /** The shared element attr (words) and its call, cached for the hot path. */
  readonly #shared: ElementCall;
  readonly #words: Uint32Array;
  readonly #bpf: (cmd: number) => number;

  /** Take ownership of `fd`, a map described by `info`. Use createMap() or the static openers. */
  constructor(fd: number, info: KernelMapInfo) {
    this.#owned = new OwnedFd(fd);
    this.#fd = fd;
    this.name = info.name;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.perCpu = isPerCpu(info.type);
    this.userValueSize = this.perCpu ? perCpuStride(info.valueSize) * possibleCpus() : info.valueSize;
    // Scratch buffers in ArrayBuffers of their own, so their addresses never change.
    this.#key = stableBuffer(Math.max(this.keySize, 1));
    this.#value = stableBuffer(Math.max(this.userValueSize, 8));
    this.#nextKey = stableBuffer(Math.max(this.keySize, 1));
    const n = native();
    // key_size 0 (queue, stack, bloom filter): the kernel insists on a NULL key pointer.
    this.#keyWords = this.keySize === 0 ? [0, 0] : addressWords(n.address(this.#key));
    this.#valueWords = addressWords(n.address(this.#value));
    this.#nextKeyWords = addressWords(n.address(this.#nextKey));
    const shared = elementCall();
    this.#shared = shared;
    this.#words = shared.words;
    this.#bpf = shared.call;
  }

  /** Open the map pinned at `path`. */
  static fromPin(path: string, fileFlags = 0): KernelMap {
    return KernelMap.fromFd(openPinnedFd(path, fileFlags));
  }

  /** Open a map by its kernel id. */
  static fromId(id: number): KernelMap {
    return KernelMap.fromFd(fdById(BpfCmd.MAP_GET_FD_BY_ID, id, { subject: `map id ${id}` }));
  }

  /** Take ownership of a map fd, reading its shape from the kernel. */
  static fromFd(fd: number): KernelMap {
    let info: Uint8Array;
    try {
      info = objectInfo(fd, MapInfoLayout);
    } catch (error) {
      native().close(fd);
      throw error;
    }
    return new KernelMap(fd, {
      name: readString(MapInfoLayout, info, 'name'),
      type: readField(MapInfoLayout, info, 'type'),
      keySize: readField(MapInfoLayout, info, 'key_size'),
      valueSize: readField(MapInfoLayout, info, 'value_size'),
      maxEntries: readField(MapInfoLayout, info, 'max_entries'),
      flags: readField(MapInfoLayout, info, 'map_flags'),
    });
  }

  /** The map's fd (valid until close()). */
  get fd(): number {
    return this.#owned.fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** The kernel's id for this map, its BTF id and key/value type ids in it (0: none), and map_extra. */
  info(): { id: number; btfId: number; btfKeyTypeId: number; btfValueTypeId: number; mapExtra: bigint } {
    const info = objectInfo(this.fd, MapInfoLayout);
    return {
      id: readField(MapInfoLayout, info, 'id'),
      btfId: readField(MapInfoLayout, info, 'btf_id'),
      btfKeyTypeId: readField(MapInfoLayout, info, 'btf_key_type_id'),
      btfValueTypeId: readField(MapInfoLayout, info, 'btf_value_type_id'),
      mapExtra: readField64(MapInfoLayout, info, 'map_extra'),
    };
  }

  // ---- element operations (hot path) ----

  /**
   * The value at `key`, or undefined when there is none. For per-CPU maps the value holds
   * every CPU's slot (see {@link lookupPerCpu}). `flags`: UpdateFlags.LOCK to read a value
   * holding a bpf_spin_lock under the lock.
   */
  lookup(key: Uint8Array, flags = 0): Uint8Array | undefined {
    const r = this.#call(BpfCmd.MAP_LOOKUP_ELEM, key, this.#valueWords, flags);
    if (r === 0) {
      const size = this.userValueSize;
      const out = new Uint8Array(size);
      copySmall(out, this.#value, size);
      return out;
    }
    if (r === -Errno.ENOENT) return undefined;
    throw this.#error('MAP_LOOKUP_ELEM', r);
  }

  /** Like {@link lookup}, into `out` (at least userValueSize bytes): no allocation. False when absent. */
  lookupInto(key: Uint8Array, out: Uint8Array, flags = 0): boolean {
    if (out.length < this.userValueSize) throw this.#sizeError('output buffer', out.length, this.userValueSize);
    const r = this.#call(BpfCmd.MAP_LOOKUP_ELEM, key, this.#valueWords, flags);
    if (r === 0) {
      copySmall(out, this.#value, this.userValueSize);
      return true;
    }
    if (r === -Errno.ENOENT) return false;
    throw this.#error('MAP_LOOKUP_ELEM', r);
  }

  /**
   * Store `value` at `key`. `flags`: UpdateFlags.ANY (default), NOEXIST (fails with EEXIST
   * when present), EXIST (fails with ENOENT when absent), optionally | LOCK. For fd maps
   * (prog array, maps of maps, sockmap, ...) the value is the fd as a u32 (see {@link updateFd}).
   */
  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    if (value.length !== this.userValueSize) throw this.#sizeError('value', value.length, this.userValueSize);
    this.#value.set(value);
    const r = this.#call(BpfCmd.MAP_UPDATE_ELEM, key, this.#valueWords, flags);
    if (r !== 0) throw this.#error('MAP_UPDATE_ELEM', r, flags);
  }

  /** Store a file descriptor (program, map, socket, perf event, cgroup) in an fd map. */
  updateFd(key: Uint8Array, fd: number, flags = 0): void {
    const value = new Uint8Array(this.valueSize);
    new DataView(value.buffer).setUint32(0, fd, true);
    this.update(key, value, flags);
  }

  /** Remove `key`; false when it was not there. */
  delete(key: Uint8Array): boolean {
    const r = this.#call(BpfCmd.MAP_DELETE_ELEM, key, [0, 0], 0);
    if (r === 0) return true;
    if (r === -Errno.ENOENT) return false;
    throw this.#error('MAP_DELETE_ELEM', r);
  }

  /** Remove `key` and return its value; for a queue or stack (key_size 0) pop with an empty key. */
  lookupAndDelete(key: Uint8Array = new Uint8Array(0), flags = 0): Uint8Array | undefined {
    const r = this.#call(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, key, this.#valueWords, flags);
    if (r === 0) return this.#value.slice(0, this.userValueSize);
    if (r === -Errno.ENOENT) return undefined;
    throw this.#error('MAP_LOOKUP_AND_DELETE_ELEM', r);
  }

  /** Push onto a queue or stack (update with no key). */
  push(value: Uint8Array, flags = 0): void {
    this.update(new Uint8Array(0), value, flags);
  }

  /** Read the head of a queue or stack without removing it. */
  peek(): Uint8Array | undefined {
    return this.lookup(new Uint8Array(0));
  }

  /** Pop from a queue or stack. */
  pop(): Uint8Array | undefined {
    return this.lookupAndDelete(new Uint8Array(0));
  }

  /**
   * Bloom filter membership: true when `value` may have been pushed, false when it
   * certainly was not. (The kernel reads the candidate from the value buffer.)
   */
  mayContain(value: Uint8Array): boolean {
    if (value.length !== this.valueSize) throw this.#sizeError('value', value.length, this.valueSize);
    this.#value.set(value);
    const r = this.#call(BpfCmd.MAP_LOOKUP_ELEM, new Uint8Array(0), this.#valueWords, 0);
    if (r === 0) return true;
    if (r === -Errno.ENOENT) return false;
    throw this.#error('MAP_LOOKUP_ELEM', r);
  }

  /** The key after `key` (the first key when undefined), or undefined at the end. */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    if (key !== undefined && key.length !== this.keySize) throw this.#sizeError('key', key.length, this.keySize);
    if (key) this.#key.set(key);
    const shared = elementCall();
    const { words, call } = shared;
    shared.owner = undefined;
    words[ElemWord.MAP_FD] = this.#fd;
    words[ElemWord.KEY_LO] = key ? this.#keyWords[0] : 0;
    words[ElemWord.KEY_HI] = key ? this.#keyWords[1] : 0;
    words[ElemWord.VALUE_LO] = this.#nextKeyWords[0];
    words[ElemWord.VALUE_HI] = this.#nextKeyWords[1];
    words[ElemWord.FLAGS_LO] = 0;
    words[ElemWord.FLAGS_HI] = 0;
    const r = call(BpfCmd.MAP_GET_NEXT_KEY);
    if (r === 0) return this.#nextKey.slice(0, this.keySize);
    if (r === -Errno.ENOENT) return undefined;
    throw this.#error('MAP_GET_NEXT_KEY', r);
  }

  /** Every key, in the map's own order. */
  *keys(): IterableIterator<Uint8Array> {
    for (let key = this.nextKey(); key !== undefined; key = this.nextKey(key)) yield key;
  }

  /** Every (key, value) pair (keys deleted meanwhile are skipped). */
  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) yield [key, value];
    }
  }

  // ---- per-CPU values ----

  /** A per-CPU value split into one Uint8Array of valueSize bytes per possible CPU. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const all = this.lookup(key);
    return all && this.splitPerCpu(all);
  }

  /** Store one value per possible CPU. */
  updatePerCpu(key: Uint8Array, values: readonly Uint8Array[], flags = 0): void {
    this.update(key, this.joinPerCpu(values), flags);
  }

  /** Split a user-space per-CPU value into its CPUs' values. */
  splitPerCpu(value: Uint8Array): Uint8Array[] {
    if (!this.perCpu) throw new TypeError(`map ${this.name} is not a per-CPU map`);
    const stride = perCpuStride(this.valueSize);
    const out: Uint8Array[] = [];
    for (let at = 0; at < value.length; at += stride) out.push(value.slice(at, at + this.valueSize));
    return out;
  }

  /** Pack one value per possible CPU into the user-space per-CPU layout. */
  joinPerCpu(values: readonly Uint8Array[]): Uint8Array {
    if (!this.perCpu) throw new TypeError(`map ${this.name} is not a per-CPU map`);
    const cpus = possibleCpus();
    if (values.length !== cpus) throw new RangeError(`map ${this.name}: ${values.length} per-CPU values given, this machine has ${cpus} possible CPUs`);
    const stride = perCpuStride(this.valueSize);
    const out = new Uint8Array(stride * cpus);
    values.forEach((v, cpu) => {
      if (v.length !== this.valueSize) throw this.#sizeError('per-CPU value', v.length, this.valueSize);
      out.set(v, cpu * stride);
    });
    return out;
  }

  // ---- batch operations ----

  /**
   * One BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH) call: up to `count` entries into
   * `keys`/`values` (packed, userValueSize per value), continuing from `inToken` (null:
   * from the start) and writing the position reached to `outToken` (at least
   * {@link batchTokenSize} bytes). Returns how many entries came back and whether the map
   * is exhausted.
   */
  lookupBatchRaw(
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
    inToken: Uint8Array | null,
    outToken: Uint8Array,
    options: { delete?: boolean; elemFlags?: number } = {},
  ): { count: number; done: boolean } {
    this.#checkOpen();
    if (keys.length < count * this.keySize || values.length < count * this.userValueSize) {
      throw new RangeError(`map ${this.name}: batch buffers too small for ${count} entries`);
    }
    const cmd = options.delete ? BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH : BpfCmd.MAP_LOOKUP_BATCH;
    const outcome = tryBpf(cmd, MapBatchAttr, {
      in_batch: inToken,
      out_batch: outToken,
      keys,
      values,
      count,
      map_fd: this.#fd,
      elem_flags: options.elemFlags ?? 0,
    });
    const got = readField(MapBatchAttr, outcome.attr, 'count');
    if (outcome.result === 0) return { count: got, done: false };
    if (outcome.result === -Errno.ENOENT) return { count: got, done: true };
    throw this.#error(options.delete ? 'MAP_LOOKUP_AND_DELETE_BATCH' : 'MAP_LOOKUP_BATCH', outcome.result);
  }

  /** Bytes a batch position token needs for this map. */
  get batchTokenSize(): number {
    return Math.max(this.keySize, 8);
  }

  /**
   * Every entry, `batchSize` at a time, with BPF_MAP_LOOKUP_BATCH (or the deleting
   * variant). A hash map hands out whole buckets, and says ENOSPC when one bucket holds
   * more entries than asked for: then the batch doubles and the same step is retried
   * (nothing was read or deleted), so a small `batchSize` never fails.
   */
  *batches(batchSize = 4096, options: { delete?: boolean } = {}): IterableIterator<MapBatch> {
    const tokens = [stableBuffer(this.batchTokenSize), stableBuffer(this.batchTokenSize)];
    let inToken: Uint8Array | null = null;
    let size = batchSize;
    for (let round = 0; ; ) {
      const keys = stableBuffer(size * this.keySize);
      const values = stableBuffer(size * this.userValueSize);
      const outToken = tokens[round & 1]!;
      let step: { count: number; done: boolean };
      try {
        step = this.lookupBatchRaw(keys, values, size, inToken, outToken, options);
      } catch (error) {
        if (error instanceof BpfError && error.errno === Errno.ENOSPC && size < Math.max(this.maxEntries, 1)) {
          size = Math.min(size * 2, Math.max(this.maxEntries, 1));
          continue;
        }
        throw error;
      }
      const { count, done } = step;
      if (count > 0) {
        yield { keys: keys.subarray(0, count * this.keySize), values: values.subarray(0, count * this.userValueSize), count };
      }
      if (done) return;
      inToken = outToken;
      round++;
    }
  }

  /** Store `keys.length / keySize` entries at once (BPF_MAP_UPDATE_BATCH); returns how many were stored. */
  updateBatch(keys: Uint8Array, values: Uint8Array, flags = 0): number {
    const count = this.#batchCount(keys);
    if (values.length !== count * this.userValueSize) throw this.#sizeError('batch values', values.length, count * this.userValueSize);
    const outcome = tryBpf(BpfCmd.MAP_UPDATE_BATCH, MapBatchAttr, { keys, values, count, map_fd: this.#fd, elem_flags: flags });
    if (outcome.result < 0) throw this.#error('MAP_UPDATE_BATCH', outcome.result, flags);
    return readField(MapBatchAttr, outcome.attr, 'count');
  }

  /** Delete the given keys at once (BPF_MAP_DELETE_BATCH); returns how many were deleted. */
  deleteBatch(keys: Uint8Array): number {
    const count = this.#batchCount(keys);
    const outcome = tryBpf(BpfCmd.MAP_DELETE_BATCH, MapBatchAttr, { keys, count, map_fd: this.#fd });
    if (outcome.result < 0) throw this.#error('MAP_DELETE_BATCH', outcome.result);
    return readField(MapBatchAttr, outcome.attr, 'count');
  }

  // ---- whole-map operations ----

  /** Make the map read-only for user space from now on (BPF_MAP_FREEZE); programs can still write unless RDONLY_PROG. */
  freeze(): void {
    this.#checkOpen();
    const outcome = tryBpf(BpfCmd.MAP_FREEZE, MapElemAttr, { map_fd: this.#fd });
    if (outcome.result < 0) throw this.#error('MAP_FREEZE', outcome.result);
    this.#frozen = true;
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  /** Pin the map at `path` on a bpffs mount; it then outlives this process until unlinked. */
  pin(path: string): void {
    pinFd(this.fd, path, `map "${this.name}"`);
  }

  /**
   * The map's memory, shared with the kernel (BPF_F_MMAPABLE arrays, global data, arena).
   * Element i of an array starts at i * roundUp(valueSize, 8). Read-only when the map is
   * frozen or created read-only for user space. The mapping is released by close(), after
   * which the returned buffer is detached (length 0), never dangling.
   */
  mmap(): ArrayBuffer {
    this.#checkOpen();
    if (this.#mapping) return this.#mapping;
    if (!(this.flags & MapFlags.MMAPABLE)) throw new TypeError(`map ${this.name} was not created with MapFlags.MMAPABLE`);
    const bytes =
      this.type === MapType.ARENA ? this.maxEntries * PAGE_SIZE : perCpuStride(this.valueSize) * this.maxEntries;
    const length = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    const readOnly = this.#frozen || (this.flags & MapFlags.RDONLY) !== 0;
    const result = native().mmap(this.#fd, length, readOnly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    if (typeof result === 'number') {
      throw new BpfError('mmap', -result, { subject: `map "${this.name}"`, hint: result === -Errno.EPERM ? 'a frozen map can only be mapped read-only' : undefined });
    }
    this.#mapping = result;
    return result;
  }

  /** Release the map (and its mapping). Pinned maps live on in bpffs. Idempotent. */
  close(): void {
    if (this.#mapping) {
      native().munmap(this.#mapping);
      this.#mapping = undefined;
    }
    this.#owned.close();
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- internals ----

  /** One element operation through the shared attr: key copied to scratch, value pointer given. */
  #call(cmd: number, key: Uint8Array, valueWords: readonly [number, number], flags: number): number {
    if (this.#fd < 0) this.#checkOpen();
    const size = this.keySize;
    if (key.length !== size) throw this.#sizeError('key', key.length, size);
    copySmall(this.#key, key, size);
    const words = this.#words;
    // The shared attr still holds this map's fd, key and value pointers and these flags
    // from the last call (the common case in a loop): only the command changes. The owner
    // is the value-pointer pair, which is one array per map (delete passes a fresh one).
    const shared = this.#shared;
    if (shared.owner === valueWords && words[ElemWord.FLAGS_LO] === flags) return this.#bpf(cmd);
    shared.owner = valueWords;
    words[ElemWord.MAP_FD] = this.#fd;
    words[ElemWord.KEY_LO] = this.#keyWords[0];
    words[ElemWord.KEY_HI] = this.#keyWords[1];
    words[ElemWord.VALUE_LO] = valueWords[0];
    words[ElemWord.VALUE_HI] = valueWords[1];
    words[ElemWord.FLAGS_LO] = flags;
    words[ElemWord.FLAGS_HI] = 0;
    return this.#bpf(cmd);
  }

  #batchCount(keys: Uint8Array): number {
    this.#checkOpen();
    if (this.keySize === 0 || keys.length % this.keySize !== 0) {
      throw new RangeError(`map ${this.name}: batch keys must be a whole number of ${this.keySize}-byte keys`);
    }
    return keys.length / this.keySize;
  }

  #checkOpen(): void {
    if (this.#fd < 0) throw new Error(`map ${this.name} is closed`);
  }

  #sizeError(what: string, got: number, want: number): RangeError {
    return new RangeError(`map ${this.name} (${mapTypeLabel(this.type)}): ${what} is ${got} bytes, expected ${want}`);
  }

  #error(command: string, result: number, flags = 0): BpfError {
    const errno = -result;
    const subject = `on map "${this.name}" (${mapTypeLabel(this.type)})`;
    let hint: string | undefined;
    if (command === 'MAP_UPDATE_ELEM' || command === 'MAP_UPDATE_BATCH') {
      if (errno === Errno.EEXIST) hint = 'the key exists and BPF_NOEXIST was given';
      else if (errno === Errno.ENOENT) hint = (flags & 3) === 2 ? 'the key does not exist and BPF_EXIST was given' : 'no such entry';
      else if (errno === Errno.E2BIG) hint = `the map is full (max_entries ${this.maxEntries}), or the index is out of range`;
      else if (errno === Errno.EINVAL && flags & 4) hint = 'BPF_F_LOCK needs a value with a bpf_spin_lock (create the map with valueFields.spinLock)';
      else if (errno === Errno.EBADF && mapKind(this.type).fdValues) hint = 'this map stores file descriptors: the value must be an open fd of the right kind';
      else if (errno === Errno.EPERM && this.#frozen) hint = 'the map is frozen';
    } else if (command === 'MAP_LOOKUP_ELEM' && errno === Errno.EINVAL && flags & 4) {
      hint = 'BPF_F_LOCK needs a value with a bpf_spin_lock';
    } else if ((errno === Errno.EOPNOTSUPP || errno === Errno.ENOTSUPP || errno === Errno.EINVAL) && mapKind(this.type).noElements) {
      hint = `${mapTypeLabel(this.type)} maps have no elements to access from user space`;
    }
    return new BpfError(command, errno, { subject, ...(hint && { hint }) });
  }
}
