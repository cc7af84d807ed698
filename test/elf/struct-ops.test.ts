/** struct_ops maps: definitions, bytes and the programs behind their function pointers. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { MapFlags } from '../../src/uapi/map-types.js';
import { compileBpf, run } from '../support/clang.js';
import { vmlinuxDir } from './host.js';
import { libbpfView } from './libbpf-oracle.js';
import { refSections, refSymbols } from './readelf.js';

describe('struct_ops maps', () => {
  const path = compileBpf('test/fixtures/elf/struct_ops.c', { cpu: 'v3', flags: [`-I${vmlinuxDir()}`] });
  const spec = loadObjectSpec(readFileSync(path));
  const btf = JSON.parse(run('bpftool', ['btf', 'dump', 'file', path, '-j'])) as {
    types: Array<{ id: number; kind: string; name: string; size?: number; members?: Array<{ name: string; bits_offset: number }> }>;
  };
  const ops = btf.types.find((t) => t.kind === 'STRUCT' && t.name === 'tcp_congestion_ops')!;

  it('defines one map per variable, as libbpf does for .struct_ops', () => {
    const libbpf = libbpfView(path);
    const known = libbpf.maps.map((m) => [m.map, m.type, m.key, m.value, m.max, m.flags]);
    expect(known.length).toBeGreaterThan(0);
    for (const [name, ...def] of known) {
      const m = spec.maps.find((x) => x.name === name)!;
      expect([m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]).toEqual(def);
    }
    const link = spec.maps.find((m) => m.sectionName === '.struct_ops.link')!;
    expect(link.flags).toBe(MapFlags.LINK);
    expect(link.valueSize).toBe(ops.size);
    expect(link.structOps!.typeName).toBe('tcp_congestion_ops');
  });

  it('keeps each variable\'s bytes', () => {
    const sections = refSections(path);
    const symbols = refSymbols(path);
    for (const m of spec.maps.filter((x) => x.structOps)) {
      const sym = symbols.find((s) => s.name === m.name)!;
      const dump = run('llvm-readelf-19', ['-x', sections[sym.section]!.name, path]);
      const bytes = Buffer.from([...dump.matchAll(/^\s*0x[0-9a-f]+ ((?:[0-9a-f]{2,8} ){1,4})/gm)].map((x) => x[1]!.replace(/ /g, '')).join(''), 'hex');
      expect(Buffer.from(m.initialData!).equals(bytes.subarray(sym.value, sym.value + sym.size))).toBe(true);
    }
  });

  it('names the program behind every function pointer llvm-readelf shows relocated', () => {
    const rel = run('llvm-readelf-19', ['-r', path]);
    for (const m of spec.maps.filter((x) => x.structOps)) {
      const block = rel.split(/\n(?=Relocation section)/).find((b) => b.startsWith(`Relocation section '.rel${m.sectionName}'`))!;
      const expected = [...block.matchAll(/^([0-9a-f]{16})\s+\S+\s+R_BPF_64_ABS64\s+\S+\s+(\S+)/gm)].map((x) => {
        const bits = parseInt(x[1]!, 16) * 8;
        const index = ops.members!.findIndex((mm) => mm.bits_offset === bits);
        return { member: ops.members![index]!.name, memberIndex: index, program: x[2]! };
      });
      expect(m.structOps!.programs).toEqual(expected);
    }
  });

  it('gives each struct_ops program its member index as expected attach type, as libbpf', () => {
    const libbpf = libbpfView(path);
    for (const p of libbpf.programs.filter((x) => x.type !== 0)) {
      expect(spec.programs.find((x) => x.name === p.program)!.expectedAttachType ?? 0, p.program).toBe(p.attach);
    }
    const sleepable = spec.programs.find((p) => p.name === 'cc_cong_avoid')!;
    expect(sleepable.flags).toBe(1 << 4);
    expect(sleepable.expectedAttachType).toBe(ops.members!.findIndex((m) => m.name === 'cong_avoid'));
  });
});
