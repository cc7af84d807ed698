/**
 * Maps with TypeScript keys and values: any backend's {@link BpfMap} wrapped with codecs
 * (normally from BTF), so user code reads `flows.get({ saddr, dport })?.bytes` instead of
 * slicing buffers. The raw map stays reachable as `raw` for hot paths and byte-exact work.
 */
import { Btf } from '../btf/btf.js';
import { BtfValueCodec, type ValueCodec } from '../btf/value/codec.js';
import type { BtfValueOptions } from '../btf/value/options.js';
import { recordDecoder } from '../btf/value/record-decoder.js';
import type { BtfType } from '../btf/types.js';
import type { ObjectSpec } from '../elf/object-spec.js';
import { MapType } from '../uapi/map-types.js';
import type { BpfMap, Collection, RecordReader } from './types.js';

const PER_CPU_TYPES: ReadonlySet<number> = new Set([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, MapType.PERCPU_CGROUP_STORAGE]);

/** Is `map` a per-CPU map (one value per possible CPU)? */
export function isPerCpuMap(map: Pick<BpfMap, 'type'>): boolean {
  return PER_CPU_TYPES.has(map.type);
}

/** The element type of a per-CPU value array. */
export type PerCpuElement<V> = V extends ReadonlyArray<infer E> ? E : never;

/** A map whose keys are `K` and values `V`; for per-CPU maps `V` is an array with one value per CPU. */
export class TypedMap<K, V> implements Iterable<[K, V]> {
  /** The keys and values as bytes, exactly as the backend holds them. */
  readonly raw: BpfMap;
  readonly keyCodec: ValueCodec<K>;
  /** Codec of the value as user space sees it (for per-CPU maps: the array of per-CPU values). */
  readonly valueCodec: ValueCodec<V>;
  /** A key buffer reused by every operation: both backends copy keys, so one scratch buffer is safe. */
  readonly #scratchKey: Uint8Array;
  readonly #valueOut: Uint8Array;
  readonly #valueIn: Uint8Array;
  readonly #lookupInto: ((key: Uint8Array, out: Uint8Array) => boolean) | undefined;

  /**
   * Wrap `raw` with a key codec and the codec of ONE value; for per-CPU maps the
   * per-CPU layout (roundUp(size, 8) per CPU) is handled here.
   */
  constructor(raw: BpfMap, key: ValueCodec<K>, value: ValueCodec<V> | ValueCodec<PerCpuElement<V>>) {
    if (key.size !== raw.keySize) throw new RangeError(`map ${raw.name}: the key codec is ${key.size} bytes, the map's keys are ${raw.keySize}`);
    if (value.size !== raw.valueSize) throw new RangeError(`map ${raw.name}: the value codec is ${value.size} bytes, the map's values are ${raw.valueSize}`);
    this.raw = raw;
    this.keyCodec = key;
    this.valueCodec = (isPerCpuMap(raw) ? perCpuCodec(value as ValueCodec<unknown>, raw) : value) as ValueCodec<V>;
    this.#scratchKey = new Uint8Array(raw.keySize);
    this.#valueOut = new Uint8Array(raw.userValueSize);
    this.#valueIn = new Uint8Array(raw.userValueSize);
    // The kernel map reads into a caller buffer without allocating; other backends allocate.
    const into = (raw as Partial<{ lookupInto(key: Uint8Array, out: Uint8Array): boolean }>).lookupInto;
    this.#lookupInto = typeof into === 'function' ? into.bind(raw) : undefined;
  }

  /**
   * Wrap `raw` with codecs for BTF types `keyTypeId` and `valueTypeId` of `btf`. A type
   * id of 0 (no BTF for it) falls back to raw bytes (Uint8Array) of the map's size.
   */
  static fromBtf<K = unknown, V = unknown>(raw: BpfMap, btf: Btf | BtfValueCodec, keyTypeId: number, valueTypeId: number, options: BtfValueOptions = {}): TypedMap<K, V> {
    const codecs = btf instanceof BtfValueCodec ? btf : new BtfValueCodec(btf, options);
    const key = keyTypeId ? codecs.codec<K>(keyTypeId, 'key') : (bytesCodec(raw.keySize) as ValueCodec<K>);
    const value = valueTypeId ? codecs.codec<V>(valueTypeId, 'value') : (bytesCodec(raw.valueSize) as ValueCodec<V>);
    return new TypedMap<K, V>(raw, key, value);
  }

  get perCpu(): boolean {
    return isPerCpuMap(this.raw);
  }

  /** The value at `key`, or undefined. */
  get(key: K): V | undefined {
    const k = this.#key(key);
    if (this.#lookupInto) return this.#lookupInto(k, this.#valueOut) ? this.valueCodec.decode(this.#valueOut) : undefined;
    const v = this.raw.lookup(k);
    return v === undefined ? undefined : this.valueCodec.decode(v);
  }

  /** Is there a value at `key`? */
  has(key: K): boolean {
    const k = this.#key(key);
    if (this.#lookupInto) return this.#lookupInto(k, this.#valueOut);
    return this.raw.lookup(k) !== undefined;
  }

  /** Store `value` at `key`; `flags` as for BpfMap.update (ANY, NOEXIST, EXIST, LOCK). Returns this. */
  set(key: K, value: V, flags = 0): this {
    // Encoded into the scratch value buffer: a fresh Uint8Array per update costs more than
    // the encoding, and both backends copy the value before update returns.
    const k = this.#key(key);
    this.valueCodec.encodeInto(value, this.#valueIn, 0);
    this.raw.update(k, this.#valueIn, flags);
    return this;
  }

  /** Remove `key`; false when it was not there. */
  delete(key: K): boolean {
    return this.raw.delete(this.#key(key));
  }

  /** Every key, decoded. */
  *keys(): IterableIterator<K> {
    for (const k of this.raw.keys()) yield this.keyCodec.decode(k);
  }

  /** Every value, decoded (keys deleted meanwhile are skipped). */
  *values(): IterableIterator<V> {
    for (const [, v] of this.raw.entries()) yield this.valueCodec.decode(v);
  }

  /** Every (key, value) pair, decoded. */
  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.raw.entries()) yield [this.keyCodec.decode(k), this.valueCodec.decode(v)];
  }

  /**
   * Every (key, value) pair, read `batchSize` at a time with one batch lookup per batch
   * where the backend has it (the kernel's BPF_MAP_LOOKUP_BATCH), else one by one.
   * A snapshot in batches rather than an element-by-element walk: far fewer syscalls.
   */
  *entriesBatched(batchSize = 4096): IterableIterator<[K, V]> {
    const batches = (this.raw as Partial<{ batches(size: number): IterableIterator<{ keys: Uint8Array; values: Uint8Array; count: number }> }>).batches;
    if (typeof batches !== 'function') {
      yield* this.entries();
      return;
    }
    const keySize = this.raw.keySize;
    const valueSize = this.raw.userValueSize;
    for (const batch of batches.call(this.raw, batchSize)) {
      for (let i = 0; i < batch.count; i++) yield [this.keyCodec.decode(batch.keys, i * keySize), this.valueCodec.decode(batch.values, i * valueSize)];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  #key(key: K): Uint8Array {
    this.keyCodec.encodeInto(key, this.#scratchKey, 0);
    return this.#scratchKey;
  }
}

/** The per-CPU layout: one value per CPU, each at a multiple of roundUp(valueSize, 8). */
function perCpuCodec<E>(one: ValueCodec<E>, raw: BpfMap): ValueCodec<E[]> {
  const stride = (one.size + 7) & ~7;
  const cpus = raw.userValueSize / stride;
  const size = raw.userValueSize;
  const encodeInto = (values: E[], out: Uint8Array, offset = 0): void => {
    if (!Array.isArray(values) || values.length !== cpus) {
      throw new RangeError(`map ${raw.name} is per-CPU: pass an array of ${cpus} values (one per possible CPU), got ${Array.isArray(values) ? values.length : typeof values}`);
    }
    out.fill(0, offset, offset + size);
    for (let cpu = 0; cpu < cpus; cpu++) one.encodeInto(values[cpu]!, out, offset + cpu * stride);
  };
  return {
    size,
    decode(bytes, offset = 0) {
      const out = new Array<E>(cpus);
      for (let cpu = 0; cpu < cpus; cpu++) out[cpu] = one.decode(bytes, offset + cpu * stride);
      return out;
    },
    encode(values) {
      const out = new Uint8Array(size);
      encodeInto(values, out);
      return out;
    },
    encodeInto,
  };
}

/** Bytes as they are, for maps whose keys or values have no BTF. */
export function bytesCodec(size: number): ValueCodec<Uint8Array> {
  return {
    size,
    decode: (bytes, offset = 0) => bytes.slice(offset, offset + size),
    encode(value) {
      if (!(value instanceof Uint8Array) || value.length !== size) throw new RangeError(`expected ${size} bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`);
      return value.slice();
    },
    encodeInto(value, out, offset = 0) {
      if (!(value instanceof Uint8Array) || value.length !== size) throw new RangeError(`expected ${size} bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`);
      out.set(value, offset);
    },
  };
}

/** One BtfValueCodec per object and option set, so maps of one object share compiled codecs. */
const objectCodecs = new WeakMap<ObjectSpec, Map<string, BtfValueCodec>>();

/** The codecs for `spec`'s BTF (parsed once per object and options). @throws Error when the object has no BTF. */
export function objectCodec(spec: ObjectSpec, options: BtfValueOptions = {}): BtfValueCodec {
  if (!spec.btfData) throw new Error('the object has no BTF (.BTF section): compile with clang -g to get typed maps');
  let byOptions = objectCodecs.get(spec);
  if (!byOptions) objectCodecs.set(spec, (byOptions = new Map()));
  const key = JSON.stringify([options.charArraysAsStrings === true, options.enumNames === true, options.markSpecialFields === true]);
  let codec = byOptions.get(key);
  if (!codec) byOptions.set(key, (codec = new BtfValueCodec(specBtf(spec), options)));
  return codec;
}

/**
 * The object's BTF with data sections laid out (clang leaves their sizes and offsets
 * zero), so `.data`/`.bss`/`.rodata` values decode as objects of their variables.
 */
function specBtf(spec: ObjectSpec): Btf {
  const btf = Btf.parse(spec.btfData!, { endian: spec.endian });
  const dataMaps = new Map(spec.maps.filter((m) => spec.variables.some((v) => v.map === m.name)).map((m) => [m.name, m.valueSize]));
  const offsets = new Map(spec.variables.map((v) => [`${v.map}\0${v.name}`, v.offset]));
  const types = btf.types.map((t): BtfType => {
    const size = t.kind === 'datasec' ? dataMaps.get(t.name) : undefined;
    if (t.kind !== 'datasec' || size === undefined) return t;
    const vars = t.vars.map((v) => {
      const vt = btf.typeById(v.type);
      return { ...v, offset: offsets.get(`${t.name}\0${vt.name}`) ?? v.offset };
    });
    return { ...t, size, vars };
  });
  return new Btf({ endian: btf.endian, types, strings: btf.strings, base: btf.base });
}

/**
 * Map `name` of a loaded collection (kernel or vm), typed through the key and value BTF
 * types its definition in `spec` names. For per-CPU maps, give `V` as an array type.
 * Maps without a key type (global data: .data, .bss, .rodata) take a u32 index as key.
 *
 * @example
 * const counts = typedMap<{ ip: number; port: number }, { packets: bigint }>(coll, 'counts', spec);
 * counts.get({ ip: 0x0100007f, port: 80 })?.packets;
 */
export function typedMap<K = unknown, V = unknown>(collection: Collection, name: string, spec: ObjectSpec, options: BtfValueOptions = {}): TypedMap<K, V> {
  const raw = collection.map(name);
  const mapSpec = spec.maps.find((m) => m.name === name);
  if (!mapSpec) throw new Error(`the object defines no map ${name} (maps: ${spec.maps.map((m) => m.name).join(', ') || 'none'})`);
  const codecs = objectCodec(spec, options);
  const key = mapSpec.keyTypeId ? codecs.codec<K>(mapSpec.keyTypeId, 'key') : raw.keySize === 4 ? (u32Codec() as ValueCodec<K>) : (bytesCodec(raw.keySize) as ValueCodec<K>);
  const value = mapSpec.valueTypeId ? codecs.codec<V>(mapSpec.valueTypeId, 'value') : (bytesCodec(raw.valueSize) as ValueCodec<V>);
  return new TypedMap<K, V>(raw, key, value);
}

/** A little-endian u32 (array indexes, global data keys: the host's order, x86 and arm64 alike). */
function u32Codec(): ValueCodec<number> {
  return {
    size: 4,
    decode: (bytes, offset = 0) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true),
    encode(value) {
      const out = new Uint8Array(4);
      this.encodeInto(value, out, 0);
      return out;
    },
    encodeInto(value, out, offset = 0) {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`key: ${value} does not fit u32`);
      new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(offset, value, true);
    },
  };
}

/**
 * Records of a ring buffer or perf event array, decoded as BTF type `typeName` of `spec`
 * (or of a Btf). Iterates like the reader: `for await (const e of typedRecords(reader, spec, 'event'))`.
 */
export async function* typedRecords<T = unknown>(reader: RecordReader, btf: ObjectSpec | Btf | BtfValueCodec, typeName: string, options: BtfValueOptions = {}): AsyncGenerator<T> {
  const decode = recordDecoder<T>(btf instanceof Btf || btf instanceof BtfValueCodec ? btf : objectCodec(btf, options), typeName, options);
  for await (const record of reader) yield decode(record);
}
