import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { btfFeaturesOfKernel, datasecSourceFromMaps, fixupDatasecs, sanitizeBtf, type VariableSymbol } from '../../src/btf/fixup.js';
import { compileBpf, run } from '../support/clang.js';
import { bpfUsable, libbpfJudge } from './judge.js';
import { bpftoolDumpC, btfOf, cacheDir } from './support.js';

/** Section sizes and variable symbols as llvm-readelf reports them. */
function elfFacts(obj: string) {
  const sizes = new Map<string, number>();
  const sectionNames: string[] = [];
  for (const m of run('llvm-readelf', ['-S', '-W', obj]).matchAll(/^\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/gm)) {
    sizes.set(m[2]!, parseInt(m[3]!, 16));
    sectionNames[Number(m[1])] = m[2]!;
  }
  const symbols = new Map<string, VariableSymbol>();
  for (const m of run('llvm-readelf', ['-s', '-W', obj]).matchAll(/^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+OBJECT\s+(\w+)\s+(\w+)\s+\d+\s+(\S+)$/gm)) {
    symbols.set(m[4]!, { offset: parseInt(m[1]!, 16), hidden: m[3] === 'HIDDEN' || m[3] === 'INTERNAL' });
  }
  return { sizes, symbols };
}

/** Load raw BTF into this kernel through libbpf's bpf_btf_load: "ok" or the verifier's log. */
function kernelLoad(bytes: Uint8Array, name: string): string {
  const file = join(cacheDir, `${name}-${process.pid}.btf`);
  writeFileSync(file, bytes);
  const r = spawnSync(libbpfJudge(), ['btf-load', file], { encoding: 'utf8' });
  return r.stdout.trim();
}

describe('datasec fix-up', () => {
  let obj: string;
  let btf: Btf;
  beforeAll(() => {
    obj = compileBpf('test/fixtures/btf/kinds.c', { cpu: 'v3' });
    btf = Btf.parse(btfOf(obj).bytes);
  });

  it.skipIf(!bpfUsable())('gives the bytes libbpf gives, and the kernel accepts them', () => {
    const { sizes, symbols } = elfFacts(obj);
    const fixed = fixupDatasecs(btf, datasecSourceFromMaps(sizes, symbols));
    const libbpfFile = join(cacheDir, `kinds-fixed-${process.pid}.btf`);
    execFileSync(libbpfJudge(), ['btf-fixed', obj, libbpfFile]);
    const libbpfBytes = new Uint8Array(readFileSync(libbpfFile));
    expect(Buffer.from(fixed.encode()).equals(Buffer.from(libbpfBytes))).toBe(true);
    // The hidden global became static, as libbpf decides.
    expect(fixed.findByName('hidden_counter', 'var')!.linkage).toBe(0);
    expect(btf.findByName('hidden_counter', 'var')!.linkage).toBe(1);
    expect(kernelLoad(fixed.encode(), 'fixed')).toBe('ok');
    // The kernel really checks: clang's raw BTF (zero sizes) is refused.
    expect(kernelLoad(btf.encode(), 'raw')).toMatch(/^error/);
  });

  it('reports a missing section or symbol as a BtfError', () => {
    expect(() => fixupDatasecs(btf, datasecSourceFromMaps({}, {}))).toThrow(/no size for section/);
    const { sizes } = elfFacts(obj);
    expect(() => fixupDatasecs(btf, datasecSourceFromMaps(sizes, {}))).toThrow(/no ELF symbol for variable/);
  });
});

describe('sanitising for older kernels', () => {
  let fixed: Btf;
  beforeAll(() => {
    const obj = compileBpf('test/fixtures/btf/kinds.c', { cpu: 'v4' }); // clang-19: has enum64
    const { sizes, symbols } = elfFacts(obj);
    fixed = fixupDatasecs(Btf.parse(btfOf(obj).bytes), datasecSourceFromMaps(sizes, symbols));
  });

  // Older kernels lack a feature and every newer one. This kernel (6.18) validates more strictly
  // than those did (e.g. enumerator names), so only profiles whose rewrites 6.18 still checks the
  // same way are loaded into it; the others are checked structurally and through bpftool.
  const profiles: Array<[string, number, number, string[], boolean]> = [
    ['5.19', 5, 19, ['enum64'], true],
    ['5.16', 5, 16, ['enum64', 'type_tag'], true],
    ['5.15', 5, 15, ['enum64', 'type_tag', 'decl_tag'], true],
    ['5.12', 5, 12, ['enum64', 'type_tag', 'decl_tag', 'float'], true],
    ['5.5', 5, 5, ['enum64', 'type_tag', 'decl_tag', 'float'], true],
    ['5.1', 5, 1, ['enum64', 'type_tag', 'decl_tag', 'float', 'var', 'datasec'], true],
    ['4.19', 4, 19, ['enum64', 'type_tag', 'decl_tag', 'float', 'var', 'datasec', 'func', 'func_proto'], false],
  ];

  it.each(profiles)('for Linux %s: the kinds it lacks are gone, ids are kept, bpftool reads it', (name, major, minor, gone, loadable) => {
    const features = btfFeaturesOfKernel(major, minor);
    const out = sanitizeBtf(fixed, features);
    const before = [...fixed.allTypes()];
    for (const k of gone) expect(before.some((t) => t.kind === k), `fixture has ${k}`).toBe(true);
    const after = Btf.parse(out.encode());
    const kinds = new Set([...after.allTypes()].map((t) => t.kind));
    for (const k of gone) expect(kinds).not.toContain(k);
    expect(after.typeCount).toBe(fixed.typeCount + 1); // the enum64 placeholder
    if (!features.funcGlobal) expect([...after.allTypes()].some((t) => t.kind === 'func' && t.linkage !== 0)).toBe(false);
    if (loadable && bpfUsable()) expect(kernelLoad(out.encode(), `sanitized-${name}`)).toBe('ok');
    const file = join(cacheDir, `sanitized-${name}-${process.pid}.btf`);
    writeFileSync(file, out.encode());
    expect(bpftoolDumpC(file)).toContain('#endif /* __VMLINUX_H__ */');
  });

  it('is the identity for this kernel', () => {
    expect(Buffer.from(sanitizeBtf(fixed, btfFeaturesOfKernel(6, 18)).encode()).equals(Buffer.from(fixed.encode()))).toBe(true);
  });

  it('keeps layouts: datasec members at the variables\' offsets, enum64 as a union of its size', () => {
    const out = sanitizeBtf(fixed, btfFeaturesOfKernel(5, 1));
    const data = fixed.findByName('.data', 'datasec')!;
    const asStruct = out.typeOfKind(data.id, 'struct');
    expect(asStruct.name).toBe('_data');
    expect(asStruct.members.map((m) => [m.name, m.bitOffset / 8])).toEqual(data.vars.map((v) => [fixed.typeById(v.type).name, v.offset]));
    const big = fixed.findByName('big_enum', 'enum64')!;
    const u = out.typeOfKind(big.id, 'union');
    expect(u.size).toBe(big.size);
    expect(out.typeById(u.members[0]!.type)).toMatchObject({ kind: 'int', name: 'enum64_placeholder', size: 1 });
    expect([...out.allTypes()].filter((t) => t.kind === 'func').every((t) => t.kind === 'func' && t.linkage === 0)).toBe(true);
    if (bpfUsable()) expect(kernelLoad(out.encode(), 'sanitized-all')).toBe('ok');
    // The input is untouched.
    expect(fixed.typeById(data.id).kind).toBe('datasec');
  });
});
