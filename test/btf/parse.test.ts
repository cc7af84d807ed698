import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { BtfError } from '../../src/btf/errors.js';
import { parseBtfExt } from '../../src/btf/ext.js';
import { compileBpf, run } from '../support/clang.js';
import { btfOf, cacheDir, dumpSection, VMLINUX } from './support.js';
import { StringTable } from '../../src/btf/strings.js';

const FIXTURE = 'test/fixtures/btf/kinds.c';
const builds = [
  { name: 'clang 14', obj: () => compileBpf(FIXTURE, { cpu: 'v3' }) },
  { name: 'clang-19', obj: () => compileBpf(FIXTURE, { cpu: 'v4' }) },
  { name: 'clang 14 big-endian', obj: () => compileBpf(FIXTURE, { cpu: 'v3', bigEndian: true }) },
];

/** bpftool's raw dump: one "[id] KIND 'name' ..." line per type. */
function bpftoolKinds(file: string): Map<number, { kind: string; name: string }> {
  const out = new Map<number, { kind: string; name: string }>();
  for (const m of run('bpftool', ['btf', 'dump', 'file', file]).matchAll(/^\[(\d+)\] (\w+) '([^']*)'/gm)) {
    out.set(Number(m[1]), { kind: m[2]!.toLowerCase(), name: m[3]! });
  }
  return out;
}

describe.each(builds)('BTF of a $name fixture', ({ name, obj }) => {
  let path: string;
  let bytes: Uint8Array;
  let btf: Btf;
  beforeAll(() => {
    ({ path, bytes } = btfOf(obj()));
    btf = Btf.parse(bytes);
  });

  it('has every type bpftool lists, with the same kind and name', () => {
    const expected = bpftoolKinds(path);
    expect(expected.size).toBeGreaterThan(50);
    expect(btf.typeCount - 1).toBe(expected.size);
    for (const [id, e] of expected) {
      const t = btf.typeById(id);
      expect({ id, kind: t.kind, name: t.name }).toEqual({ id, kind: e.kind, name: e.name === '(anon)' ? '' : e.name });
    }
  });

  it('uses every BTF kind (enum64 with clang-19)', () => {
    const kinds = new Set([...btf.allTypes()].map((t) => t.kind));
    const all = ['int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const', 'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag'];
    if (name === 'clang-19') all.push('enum64');
    for (const k of all) expect(kinds, k).toContain(k);
  });

  it('encodes back to the same bytes', () => {
    expect(Buffer.from(btf.encode()).equals(Buffer.from(bytes))).toBe(true);
  });

  it('resolves typedef chains, sizes, alignment and bitfield members', () => {
    const bits = btf.findByName('bits', 'struct')!;
    const d = btf.findMember(bits.id, 'd')!;
    expect(d.member.bitfieldSize).toBe(40);
    // s2 sits inside the anonymous struct inside the anonymous union.
    const s2 = btf.findMember(bits.id, 's2')!;
    expect(s2.path.length).toBe(3);
    expect(s2.bitOffset % 8).toBe(0);
    const cv = btf.findByName('cv_u32_t', 'typedef')!;
    expect(btf.resolve(cv.id)).toMatchObject({ kind: 'int', name: 'unsigned int' });
    expect(btf.resolve(cv.id, true)).toMatchObject({ kind: 'typedef', name: 'cv_u32_t' });
    expect(btf.sizeof(cv.id)).toBe(4);
    expect(btf.alignof(btf.findByName('packed_s', 'struct')!.id)).toBe(1);
    expect(btf.alignof(btf.findByName('aligned_s', 'struct')!.id)).toBe(16 > btf.pointerSize ? 8 : 16);
  });
});

describe('BTF.ext', () => {
  it('resolves func_info, and line_info to the real source lines', () => {
    const obj = compileBpf(FIXTURE, { cpu: 'v3' });
    const btf = Btf.parse(btfOf(obj).bytes);
    const ext = parseBtfExt(dumpSection(obj, '.BTF.ext')!, btf);
    // Function symbols and their offsets, from llvm-readelf.
    const syms = new Map<string, number>();
    for (const m of run('llvm-readelf', ['-s', '-W', obj]).matchAll(/^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+FUNC\s+\w+\s+\w+\s+\d+\s+(\S+)$/gm)) {
      syms.set(m[2]!, parseInt(m[1]!, 16));
    }
    const funcs = [...ext.funcInfo.values()].flat().map((f) => [btf.typeById(f.typeId).name, f.insnOff]);
    expect(new Map(funcs as [string, number][])).toEqual(syms);
    expect(ext.funcInfo.has('socket')).toBe(true);

    const source = readFileSync(FIXTURE, 'utf8').split('\n');
    const lines = [...ext.lineInfo.values()].flat();
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) {
      expect(l.fileName.endsWith('kinds.c')).toBe(true);
      expect(l.line).toBe(source[l.lineNumber - 1]);
    }
  });
});

describe('vmlinux BTF', () => {
  it('parses and encodes back byte for byte; split BTF over it round-trips too', () => {
    const bytes = new Uint8Array(readFileSync(VMLINUX));
    const btf = Btf.parse(bytes);
    expect(Buffer.from(btf.encode()).equals(Buffer.from(bytes))).toBe(true);
    const task = btf.findByName('task_struct', 'struct')!;
    const pid = btf.findMember(task.id, 'pid')!;
    // bpftool's raw dump is the reference for the offset.
    const raw = run('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'raw']);
    const line = raw.split('\n').findIndex((l) => l.startsWith(`[${task.id}] STRUCT 'task_struct'`));
    const pidLine = raw.split('\n').slice(line + 1).find((l) => /^\s+'pid' /.test(l))!;
    expect(pidLine).toContain(`bits_offset=${pid.bitOffset}`);

    // A module-style split BTF: a few types over vmlinux, built with our encoder.
    const split = new Btf({
      endian: btf.endian,
      base: btf,
      strings: new StringTable(new Uint8Array(0), btf.strings),
      types: [
        { id: btf.typeCount, kind: 'ptr', name: '', nameOff: 0, kflag: false, type: task.id },
        { id: btf.typeCount + 1, kind: 'typedef', name: 'my_task_ptr', nameOff: -1, kflag: false, type: btf.typeCount },
      ],
    });
    const splitBytes = split.encode();
    const reparsed = Btf.parse(splitBytes, { base: btf });
    expect(reparsed.findByName('my_task_ptr', 'typedef')!.id).toBe(btf.typeCount + 1);
    expect(reparsed.resolve(btf.typeCount + 1)).toMatchObject({ kind: 'ptr', type: task.id });
    expect(Buffer.from(reparsed.encode()).equals(Buffer.from(splitBytes))).toBe(true);
    // bpftool reads the split blob over vmlinux the same way.
    const file = join(cacheDir, `split-${process.pid}.btf`);
    writeFileSync(file, splitBytes);
    const dump = run('bpftool', ['-B', VMLINUX, 'btf', 'dump', 'file', file]);
    unlinkSync(file);
    expect(dump).toContain(`[${btf.typeCount}] PTR '(anon)' type_id=${task.id}`);
    expect(dump).toContain(`[${btf.typeCount + 1}] TYPEDEF 'my_task_ptr' type_id=${btf.typeCount}`);
  });
});

describe('bad input', () => {
  it('names the part and offset', () => {
    const bytes = new Uint8Array(16);
    expect(() => Btf.parse(bytes)).toThrow(BtfError);
    try {
      Btf.parse(bytes);
    } catch (e) {
      expect((e as BtfError).part).toBe('header');
    }
  });
});
