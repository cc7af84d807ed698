/**
 * The codec on hand-built BTF: the errors a wrong value becomes (typed, naming the path),
 * shapes clang does not emit (old-style bitfield ints, __int128), and the guarantees
 * (padding zeroed, no generated code).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../src/btf/builder.js';
import { BtfError } from '../../src/btf/errors.js';
import { IntEncoding } from '../../src/btf/kinds.js';
import { BtfValueCodec } from '../../src/btf/value/codec.js';
import { BtfValueError } from '../../src/btf/value/errors.js';
import { repoRoot } from '../support/clang.js';

/** struct stats { u8 bytes; u16 port; (1 byte padding) u32 count; }; struct value { struct stats stats[4]; char name[8]; _Bool on; u64 total; union { u32 a; u16 b; } u; } */
function sample() {
  const b = new BtfBuilder();
  const u8 = b.int('unsigned char', 1);
  const u16 = b.int('unsigned short', 2);
  const u32 = b.int('unsigned int', 4);
  const u64 = b.int('unsigned long long', 8);
  const char = b.add({ kind: 'int', name: 'char', size: 1, encoding: IntEncoding.SIGNED, bitOffset: 0, bits: 8 });
  const bool = b.add({ kind: 'int', name: '_Bool', size: 1, encoding: IntEncoding.BOOL, bitOffset: 0, bits: 8 });
  const stats = b.struct('stats', 8, [
    { name: 'bytes', type: u8, bitOffset: 0 },
    { name: 'port', type: u16, bitOffset: 16 },
    { name: 'count', type: u32, bitOffset: 32 },
  ]);
  const u = b.add({ kind: 'union', name: '', size: 4, members: [{ name: 'a', type: u32, bitOffset: 0 }, { name: 'b', type: u16, bitOffset: 0 }] });
  const color = b.add({ kind: 'enum', name: 'color', size: 4, values: [{ name: 'RED', value: 1 }, { name: 'GREEN', value: 2 }] });
  const value = b.struct('value', 64, [
    { name: 'stats', type: b.array(stats, 4, u32), bitOffset: 0 },
    { name: 'name', type: b.array(char, 8, u32), bitOffset: 256 },
    { name: 'on', type: bool, bitOffset: 320 },
    { name: 'color', type: color, bitOffset: 352 },
    { name: 'total', type: u64, bitOffset: 384 },
    { name: 'u', type: u, bitOffset: 448 },
  ]);
  return { btf: b.build(), value, stats };
}

const good = () => ({
  stats: [0, 1, 2, 3].map((i) => ({ bytes: i, port: 80 + i, count: 1000 * i })),
  name: 'eth0',
  on: true,
  color: 'GREEN',
  total: 1n << 40n,
  u: { a: 7 },
});

function errorOf(fn: () => unknown): BtfValueError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BtfValueError) return error;
    throw error;
  }
  throw new Error('no error was thrown');
}

describe('BtfValueCodec errors name the path', () => {
  const { btf, value } = sample();
  const codec = new BtfValueCodec(btf, { charArraysAsStrings: true, enumNames: true });
  const c = codec.codec<ReturnType<typeof good>>(value);
  const bad = (patch: (v: ReturnType<typeof good>) => unknown) => {
    const v = good();
    patch(v);
    return errorOf(() => c.encode(v));
  };

  it('accepts the good value and round trips it', () => {
    expect(c.decode(c.encode(good()))).toEqual({ ...good(), u: { a: 7, b: 7 } });
  });

  it('out-of-range integers', () => {
    const e = bad((v) => (v.stats[3]!.bytes = 300));
    expect(e.message).toBe('value.stats[3].bytes: 300 does not fit u8');
    expect(e.path).toBe('value.stats[3].bytes');
    expect(e.reason).toBe('300 does not fit u8');
    expect(bad((v) => (v.stats[0]!.port = -1)).message).toBe('value.stats[0].port: -1 does not fit u16');
    expect(bad((v) => (v.total = 1n << 64n)).message).toBe('value.total: 18446744073709551616n does not fit u64');
    expect(bad((v) => (v.total = -1n)).message).toBe('value.total: -1n does not fit u64');
    expect(bad((v) => ((v.stats[1] as { count: unknown }).count = 2n ** 32n)).message).toBe('value.stats[1].count: 4294967296n does not fit u32');
    expect(bad((v) => ((v as { total: unknown }).total = 2 ** 60)).message).toMatch(/^value\.total: 1152921504606847000 is beyond 2\^53: pass a bigint/);
  });

  it('wrong types', () => {
    expect(bad((v) => ((v.stats[2] as { count: unknown }).count = '5')).message).toBe('value.stats[2].count: expected an integer (u32), got "5"');
    expect(bad((v) => ((v.stats[2] as { count: unknown }).count = 1.5)).message).toBe('value.stats[2].count: expected an integer (u32), got 1.5');
    expect(bad((v) => ((v as { on: unknown }).on = 1)).message).toBe('value.on: expected a boolean, got 1');
    expect(bad((v) => ((v as { stats: unknown }).stats = {})).message).toBe('value.stats: expected an array of 4 (struct stats[4]), got object');
    expect(bad((v) => v.stats.pop()).message).toBe('value.stats: expected 4 elements (struct stats[4]), got 3');
    expect(bad((v) => ((v.stats as unknown[])[1] = null)).message).toBe('value.stats[1]: expected an object (struct stats), got null');
    expect(bad((v) => ((v as { name: unknown }).name = new Uint8Array(3))).message).toBe('value.name: expected 8 bytes (char[8]), got 3');
    expect(bad((v) => ((v as { name: unknown }).name = [1, 2, 3, 4, 5, 6, 7, 300])).message).toBe('value.name[7]: 300 is not a byte (-128..255)');
  });

  it('strings, enums, members and unions', () => {
    expect(bad((v) => (v.name = 'much too long')).message).toBe('value.name: "much too long" is 13 bytes in UTF-8, does not fit char[8]');
    expect(bad((v) => (v.name = 'a\0b')).message).toMatch(/^value\.name: .* holds a NUL/);
    expect(bad((v) => (v.color = 'BLUE')).message).toBe('value.color: "BLUE" is not a member of enum color (members: RED, GREEN)');
    expect(bad((v) => delete (v as Partial<ReturnType<typeof good>>).total).message).toBe('value.total: missing member of struct value');
    expect(bad((v) => ((v as Record<string, unknown>).totl = 1n)).message).toMatch(/^value\.totl: struct value has no member totl \(members: stats, name, on, color, total, u\)/);
    expect(bad((v) => (v.u = {} as { a: number })).message).toBe('value.u: [8] union needs one of a, b');
    expect(bad((v) => ((v as { u: unknown }).u = { b: 70000 })).message).toBe('value.u.b: 70000 does not fit u16');
    // A decoded union holds every member; changing one and leaving the others stale must not be silently undone.
    expect(bad((v) => ((v as { u: unknown }).u = { a: 5, b: 9 })).message).toBe(
      'value.u: union members a, b share bytes but disagree: give only the one you mean (a would be overwritten)',
    );
    const decoded = c.decode(c.encode(good()));
    expect(c.encode(decoded)).toEqual(c.encode(good()));
    expect(c.decode(c.encode({ ...decoded, u: { a: 0x12345 } })).u).toEqual({ a: 0x12345, b: 0x2345 });
  });

  it('bytes that are too short to decode, or too small to encode into', () => {
    expect(errorOf(() => c.decode(new Uint8Array(63))).message).toBe('value: struct value needs 64 bytes at offset 0, the buffer has 63');
    expect(errorOf(() => c.encodeInto(good(), new Uint8Array(70), 8)).message).toBe('value: struct value needs 64 bytes at offset 8, the buffer has 70');
    expect(c.decode(new Uint8Array(80), 16)).toBeDefined();
  });

  it('errors are typed: BtfValueError for values, BtfError for types with no layout', () => {
    expect(bad((v) => (v.stats[3]!.bytes = 300))).toBeInstanceOf(BtfValueError);
    const b = new BtfBuilder();
    const proto = b.add({ kind: 'func_proto', name: '', type: 0, params: [] });
    expect(() => new BtfValueCodec(b.build()).codec(proto)).toThrow(BtfError);
    expect(() => codec.byName('nothing_called_this')).toThrow(/no type named nothing_called_this/);
  });
});

describe('BtfValueCodec layout guarantees', () => {
  it('encodeInto zeroes padding and leaves bytes outside the value alone', () => {
    const { btf, stats } = sample();
    const c = new BtfValueCodec(btf).codec(stats);
    const out = new Uint8Array(12).fill(0xff);
    c.encodeInto({ bytes: 1, port: 0x0203, count: 0x04050607 }, out, 2);
    expect([...out]).toEqual([0xff, 0xff, 1, 0, 3, 2, 7, 6, 5, 4, 0xff, 0xff]);
  });

  it('old-style bitfields (narrow int types, no kind_flag) and __int128', () => {
    const b = new BtfBuilder('little');
    const u3 = b.int('unsigned int', 4, false, 3);
    const s5 = b.int('int', 4, true, 5);
    const i128 = b.int('__int128', 16, true);
    const s = b.add({ kind: 'struct', name: 'old', size: 32, kflag: false, members: [{ name: 'x', type: u3, bitOffset: 5 }, { name: 'y', type: s5, bitOffset: 8 }, { name: 'big', type: i128, bitOffset: 128 }] });
    const btf = b.build();
    expect(btf.typeOfKind(s, 'struct').kflag).toBe(false);
    const c = new BtfValueCodec(btf).codec(s);
    const bytes = new Uint8Array(32);
    bytes[0] = 0b1010_0000; // x = 5 at bits 5..7
    bytes[1] = 0b0001_0000; // y = -16 at bits 8..12
    new DataView(bytes.buffer).setBigInt64(16, -3n, true);
    new DataView(bytes.buffer).setBigInt64(24, -1n, true);
    expect(c.decode(bytes)).toEqual({ x: 5, y: -16, big: -3n });
    expect(c.encode({ x: 5, y: -16, big: -3n })).toEqual(bytes);
    expect(errorOf(() => c.encode({ x: 8, y: 0, big: 0n })).message).toBe('value.x: 8 does not fit 3-bit unsigned bitfield');
    expect(c.decode(c.encode({ x: 0, y: 15, big: (1n << 126n) + 5n }))).toEqual({ x: 0, y: 15, big: (1n << 126n) + 5n });
  });

  it('typedefs, const, volatile and type tags resolve to what they name', () => {
    const b = new BtfBuilder();
    const u16 = b.int('unsigned short', 2);
    const tagged = b.add({ kind: 'type_tag', name: 'user', type: u16 });
    const cv = b.add({ kind: 'volatile', name: '', type: b.add({ kind: 'const', name: '', type: tagged }) });
    const td = b.typedef('port_t', cv);
    const btf = b.build();
    const c = new BtfValueCodec(btf).codec<number>(td);
    expect(c.size).toBe(2);
    expect(c.encode(0x1234)).toEqual(new Uint8Array([0x34, 0x12]));
    expect(c.decode(new Uint8Array([0x34, 0x12]))).toBe(0x1234);
  });

  it('is built from closures, never generated code (CSP-safe)', () => {
    const dir = join(repoRoot, 'src/btf/value');
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/new Function|\beval\(|from 'node:/);
    }
  });
});
