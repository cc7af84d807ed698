/**
 * TypedMap on its own, over vm maps (pure, no clang): codec/map size checks, maps without
 * BTF (raw bytes), per-CPU layout with a value size that is not a multiple of 8.
 */
import { describe, expect, it } from 'vitest';
import { bytesCodec, isPerCpuMap, TypedMap } from '../../src/api/typed-map.js';
import { BtfBuilder } from '../../src/btf/builder.js';
import { BtfValueCodec } from '../../src/btf/value/codec.js';
import { MapType } from '../../src/uapi/map-types.js';
import { VmRuntime } from '../../src/vm/runtime.js';

function types() {
  const b = new BtfBuilder();
  const u16 = b.int('unsigned short', 2);
  const u32 = b.int('unsigned int', 4);
  const u8 = b.int('unsigned char', 1);
  // 5 bytes plus 1 of padding: per-CPU slots are 8 bytes apart, not 6.
  const odd = b.struct('odd', 6, [
    { name: 'a', type: u32, bitOffset: 0 },
    { name: 'b', type: u8, bitOffset: 32 },
  ]);
  return { btf: b.build(), u16, u32, odd };
}

const map = (rt: VmRuntime, type: number, keySize: number, valueSize: number) => rt.createMap({ name: 'm', type, keySize, valueSize, maxEntries: 8, flags: 0 });

describe('TypedMap', () => {
  it('refuses codecs whose sizes differ from the map', () => {
    const { btf, u16, u32 } = types();
    const rt = new VmRuntime();
    using m = map(rt, MapType.HASH, 4, 4);
    expect(() => TypedMap.fromBtf(m, btf, u16, u32)).toThrow("map m: the key codec is 2 bytes, the map's keys are 4");
    expect(() => TypedMap.fromBtf(m, btf, u32, u16)).toThrow("map m: the value codec is 2 bytes, the map's values are 4");
  });

  it('falls back to raw bytes without a BTF type, and the raw map stays usable', () => {
    const { btf, u32 } = types();
    const rt = new VmRuntime();
    using m = map(rt, MapType.HASH, 4, 3);
    const t = TypedMap.fromBtf<number, Uint8Array>(m, btf, u32, 0);
    t.set(7, new Uint8Array([1, 2, 3]));
    expect(t.get(7)).toEqual(new Uint8Array([1, 2, 3]));
    expect(m.lookup(new Uint8Array([7, 0, 0, 0]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => t.set(7, new Uint8Array(2))).toThrow('expected 3 bytes, got 2');
    expect(bytesCodec(2).decode(new Uint8Array([9, 8, 7]), 1)).toEqual(new Uint8Array([8, 7]));
  });

  it('per-CPU values: one per CPU at 8-byte strides, padding zeroed', () => {
    const { btf, u32, odd } = types();
    const rt = new VmRuntime();
    using m = map(rt, MapType.PERCPU_HASH, 4, 6);
    expect(isPerCpuMap(m)).toBe(true);
    const t = TypedMap.fromBtf<number, Array<{ a: number; b: number }>>(m, new BtfValueCodec(btf), u32, odd);
    const cpus = rt.cpus;
    const values = Array.from({ length: cpus }, (_, c) => ({ a: 0x01020304 + c, b: 200 + c }));
    t.set(1, values);
    expect(t.get(1)).toEqual(values);
    const raw = m.lookup(new Uint8Array([1, 0, 0, 0]))!;
    expect(raw.length).toBe(8 * cpus);
    expect([...raw.subarray(8, 16)]).toEqual([5, 3, 2, 1, 201, 0, 0, 0]);
    expect([...t.keys()]).toEqual([1]);
    expect([...t.values()]).toEqual([values]);
    expect(t.has(2)).toBe(false);
    expect(t.delete(1)).toBe(true);
    expect(t.get(1)).toBeUndefined();
  });
});
