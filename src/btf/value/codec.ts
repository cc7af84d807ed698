import type { Btf } from '../btf.js';
import { BtfError } from '../errors.js';
import { NodeCompiler } from './compile.js';
import { BtfValueError } from './errors.js';
import type { CodecNode } from './node.js';
import type { BtfValueOptions } from './options.js';

/**
 * Encoder and decoder for values of one type: bytes in the BTF's layout and byte order
 * on one side, plain TypeScript values on the other (the shapes `dumpTs` declares, except
 * that anonymous members are flattened as in C).
 */
export interface ValueCodec<T> {
  /** Bytes of one value. */
  readonly size: number;
  /** The value in `bytes` at `offset` (bytes beyond the type's size are ignored). @throws BtfValueError when too short. */
  decode(bytes: Uint8Array, offset?: number): T;
  /** Fresh bytes holding `value`, padding zeroed. @throws BtfValueError naming the path of what does not fit. */
  encode(value: T): Uint8Array;
  /** Write `value` into `out` at `offset` (the value's bytes are zeroed first). */
  encodeInto(value: T, out: Uint8Array, offset?: number): void;
}

/** A {@link ValueCodec} for a BTF type id. */
export interface TypeCodec<T> extends ValueCodec<T> {
  readonly typeId: number;
  /** What the type is called in messages: "struct flow", "u32". */
  readonly label: string;
}

/**
 * Compiles, once per BTF type id, a codec between bytes and TypeScript values:
 * integers of up to 32 bits are numbers and wider ones bigints (signedness from BTF),
 * `_Bool` is boolean, enums are numbers (or member names, see options), floats numbers,
 * pointers bigint addresses, arrays JS arrays (bytes: Uint8Array; `char` arrays: string
 * when asked), structs and unions plain objects with anonymous members flattened,
 * bitfields in either byte order, typedefs and modifiers resolved. Kernel-managed fields
 * (bpf_spin_lock, bpf_timer, kptr, ...) are left zero when encoding and left out (or
 * marked) when decoding.
 *
 * Pure and CSP-safe: the codecs are closures, never generated source.
 *
 * @example
 * const codec = new BtfValueCodec(btf).byName<Flow>('flow');
 * const flow = codec.decode(bytes);
 */
export class BtfValueCodec {
  readonly #compiler: NodeCompiler;
  readonly #codecs = new Map<string, TypeCodec<unknown>>();

  constructor(
    readonly btf: Btf,
    readonly options: Readonly<BtfValueOptions> = {},
  ) {
    this.#compiler = new NodeCompiler(btf, options);
  }

  /**
   * The codec for type `typeId`. `root` names the value in error paths ("key", "value",
   * "event"). @throws BtfError for a type without a value layout (void, functions, fwd).
   */
  codec<T = unknown>(typeId: number, root = 'value'): TypeCodec<T> {
    const cacheKey = `${typeId}:${root}`;
    let c = this.#codecs.get(cacheKey);
    if (!c) {
      c = makeCodec(typeId, this.#compiler.node(typeId), root);
      this.#codecs.set(cacheKey, c);
    }
    return c as TypeCodec<T>;
  }

  /**
   * The codec for the type called `name`: a struct, union, typedef or enum of that name,
   * in that order of preference (C keeps tags and typedefs apart; a name usually has one).
   * @throws BtfError when no such type exists.
   */
  byName<T = unknown>(name: string, root = 'value'): TypeCodec<T> {
    const btf = this.btf;
    const t =
      btf.findByName(name, 'struct') ?? btf.findByName(name, 'union') ?? btf.findByName(name, 'typedef') ?? btf.findByName(name, 'enum') ?? btf.findByName(name, 'enum64') ?? btf.findByName(name);
    if (!t) throw new BtfError(`no type named ${name}`, 'value');
    return this.codec<T>(t.id, root);
  }

  /** Decode `bytes` as type `typeId`. */
  decode<T = unknown>(typeId: number, bytes: Uint8Array, offset = 0): T {
    return this.codec<T>(typeId).decode(bytes, offset);
  }

  /** Encode `value` as type `typeId`. */
  encode<T = unknown>(typeId: number, value: T): Uint8Array {
    return this.codec<T>(typeId).encode(value);
  }
}

function makeCodec<T>(typeId: number, node: CodecNode, root: string): TypeCodec<T> {
  const size = node.size;
  // Callers such as TypedMap reuse one buffer for every element: keep its view.
  let lastBytes: Uint8Array | undefined;
  let lastView: DataView | undefined;
  const viewOf = (bytes: Uint8Array): DataView => {
    if (bytes !== lastBytes || lastView!.buffer !== bytes.buffer) {
      lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      lastBytes = bytes;
    }
    return lastView!;
  };
  const check = (bytes: Uint8Array, offset: number): void => {
    if (!(bytes instanceof Uint8Array)) throw new BtfValueError(`expected bytes (Uint8Array), got ${typeof bytes}`, root);
    if (!Number.isInteger(offset) || offset < 0 || bytes.length - offset < size) {
      throw new BtfValueError(`${node.label} needs ${size} bytes at offset ${offset}, the buffer has ${bytes.length}`, root);
    }
  };
  const write = (value: T, out: Uint8Array, offset: number): void => {
    const view = viewOf(out);
    try {
      node.write(view, offset, value);
    } catch (error) {
      if (error instanceof BtfValueError) error.prepend(root);
      throw error;
    }
  };
  return {
    typeId,
    size,
    label: node.label,
    decode(bytes, offset = 0) {
      check(bytes, offset);
      return node.read(viewOf(bytes), offset) as T;
    },
    encode(value) {
      const out = new Uint8Array(size);
      write(value, out, 0);
      return out;
    },
    encodeInto(value, out, offset = 0) {
      check(out, offset);
      out.fill(0, offset, offset + size);
      write(value, out, offset);
    },
  };
}
