/**
 * The codec against the compiler: test/fixtures/value/shapes.c initialises globals of
 * every shape in .data, so the object file holds the bytes clang laid out (for bpfel and
 * bpfeb). Decoding them must give the initialisers; encoding the decoded values must give
 * the same bytes back.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { BtfValueCodec } from '../../src/btf/value/codec.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { compileBpf, haveClang, inCI } from '../support/clang.js';

function load(bigEndian: boolean): { spec: ObjectSpec; btf: Btf } {
  const spec = loadObjectSpec(readFileSync(compileBpf('test/fixtures/value/shapes.c', { bigEndian })));
  return { spec, btf: Btf.parse(spec.btfData!, { endian: spec.endian }) };
}

/** The bytes and type of global `name` in the object's data sections. */
function variable(spec: ObjectSpec, name: string): { bytes: Uint8Array; typeId: number } {
  const v = spec.variables.find((x) => x.name === name)!;
  const data = spec.maps.find((m) => m.name === v.map)!.initialData!;
  return { bytes: new Uint8Array(data.subarray(v.offset, v.offset + v.size)), typeId: v.typeId! };
}

const expectedShapes = {
  small: 200,
  tiny: -100,
  port: 8080,
  neg: -123456,
  bytes: 0x1122334455667788n,
  delta: -5000000000n,
  name: 'eth0',
  raw: new Uint8Array([1, 2, 255]),
  ok: true,
  pair: [
    { lo: 1, hi: -1 },
    { lo: 65535, hi: -32768 },
  ],
  grid: [
    [
      { lo: 1, hi: 2 },
      { lo: 3, hi: 4 },
    ],
    [
      { lo: 5, hi: 6 },
      { lo: 7, hi: 8 },
    ],
  ],
  anon_a: 77,
  anon_b: 78,
  alt_x: 0xfffffffe,
  alt_y: -2,
  f1: 5,
  f2: 300,
  f3: -7,
  f4: 0xabcdef1234n,
  f5: -4294967296n,
  color: 'BLUE',
  level: 'LOW',
  fcolor: 'GREEN',
  fbool: true,
  // clang 14 writes this 64-bit enum as an 8-byte `enum`: too big for a number, so a bigint.
  e64: 0x123456789abcdef0n,
  ratio: 1.5,
  precise: -2.25,
  ptr: 0n,
};

describe.skipIf(!inCI && !haveClang('v3'))('BtfValueCodec against clang-initialised globals', () => {
  for (const bigEndian of [false, true]) {
    const order = bigEndian ? 'big-endian' : 'little-endian';

    it(`decodes every shape (${order})`, () => {
      const { spec, btf } = load(bigEndian);
      const codec = new BtfValueCodec(btf, { charArraysAsStrings: true, enumNames: true });
      const { bytes, typeId } = variable(spec, 'shapes');
      const word = 0x01020304;
      const octets = bigEndian ? [1, 2, 3, 4] : [4, 3, 2, 1];
      expect(codec.decode(typeId, bytes)).toEqual({ ...expectedShapes, u: { word, octets: new Uint8Array(octets) } });
    });

    it(`decodes packed bitfields across byte boundaries (${order})`, () => {
      const { spec, btf } = load(bigEndian);
      const { bytes, typeId } = variable(spec, 'bits');
      expect(new BtfValueCodec(btf).decode(typeId, bytes)).toEqual({ a: 1, b: 100, c: 5000, d: -1000, e: 17, f: 6 });
    });

    it(`encodes the decoded values back to clang's bytes (${order})`, () => {
      const { spec, btf } = load(bigEndian);
      for (const options of [{}, { charArraysAsStrings: true, enumNames: true, markSpecialFields: true }]) {
        const codec = new BtfValueCodec(btf, options);
        for (const name of ['shapes', 'bits', 'locked']) {
          const { bytes, typeId } = variable(spec, name);
          expect(codec.encode(typeId, codec.decode(typeId, bytes)), name).toEqual(bytes);
        }
      }
    });

    it(`leaves kernel-managed fields out, or marks them, and never writes them (${order})`, () => {
      const { spec, btf } = load(bigEndian);
      const { bytes, typeId } = variable(spec, 'locked');
      expect(new BtfValueCodec(btf).decode(typeId, bytes)).toEqual({ count: 9, total: 10n });
      const marked = new BtfValueCodec(btf, { markSpecialFields: true });
      expect(marked.decode(typeId, bytes)).toEqual({ lock: { special: 'bpf_spin_lock' }, count: 9, timer: { special: 'bpf_timer' }, task: { special: 'kptr' }, total: 10n });
      // Whatever the caller puts there, the lock, timer and kptr bytes stay zero.
      const encoded = marked.encode(typeId, { lock: 1, count: 9, timer: 'x', task: 0xffffn, total: 10n });
      expect(encoded).toEqual(bytes);
    });
  }

  it('the two byte orders really lay bitfields out differently', () => {
    // Guards the test above against a fixture whose bytes happen to agree.
    const le = variable(load(false).spec, 'bits').bytes;
    const be = variable(load(true).spec, 'bits').bytes;
    expect(le).not.toEqual(be);
  });

  it('decodes char arrays as bytes and enums as numbers by default', () => {
    const { spec, btf } = load(false);
    const { bytes, typeId } = variable(spec, 'shapes');
    const v = new BtfValueCodec(btf).decode<Record<string, unknown>>(typeId, bytes);
    expect(v.name).toEqual(new Uint8Array([...'eth0'].map((c) => c.charCodeAt(0)).concat(new Array(8).fill(0))));
    expect(v.color).toBe(4);
    // Enum signedness comes from BTF's kind_flag, which clang 14 does not set: then -2 reads as a u32.
    const signed = btf.findByName('signed_level', 'enum')!.kflag;
    expect(v.level).toBe(signed ? -2 : 0xfffffffe);
    expect(v.fcolor).toBe(2);
  });

  it('compiles each type once and finds types by name', () => {
    const { btf } = load(false);
    const codec = new BtfValueCodec(btf);
    const byName = codec.byName('shapes');
    expect(codec.byName('shapes')).toBe(byName);
    expect(byName.label).toBe('struct shapes');
    expect(byName.size).toBe(btf.sizeof(byName.typeId));
    expect(codec.byName('inner_t').size).toBe(4);
  });
});
