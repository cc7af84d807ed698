/**
 * Objects statically linked by `bpftool gen object` (libbpf's linker): sections merged,
 * a global subprogram called across the original objects, BTF deduplicated.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { compileBpf } from '../support/clang.js';
import { libbpfView } from './libbpf-oracle.js';
import { closure, entryOf, functionsOf, hex, libbpfMapName } from './object-oracle.js';

function link(out: string, inputs: string[]): string {
  if (!existsSync(out)) execFileSync('bpftool', ['gen', 'object', out, ...inputs], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

describe('an object linked by bpftool gen object', () => {
  const a = compileBpf('test/fixtures/elf/programs.c', { cpu: 'v3' });
  const b = compileBpf('test/fixtures/elf/linked_extra.c', { cpu: 'v3' });
  const path = link(`${b.replace(/\.o$/, '')}-linked-${a.match(/-([0-9a-f]+)\.o$/)![1]}.o`, [a, b]);
  const spec = loadObjectSpec(readFileSync(path));
  const libbpf = libbpfView(path);
  const fns = functionsOf(path);

  it('has the programs of both objects, as libbpf sees them', () => {
    expect(spec.programs.map((p) => [p.name, p.sectionName, p.type, p.expectedAttachType ?? 0])).toEqual(
      libbpf.programs.map((p) => [p.program, p.section, p.type, p.attach]),
    );
    expect(spec.programs.map((p) => p.name)).toContain('extra_sock');
  });

  it('links the cross-object call to the global subprogram', () => {
    const extra = spec.programs.find((p) => p.name === 'extra_sock')!;
    expect(new Set(extra.subprograms)).toEqual(closure(entryOf(fns, extra), fns, true));
    expect(extra.subprograms).toContain('helper_global');
    expect(extra.subprograms).toContain('helper_static');
    for (const p of spec.programs) {
      const entry = entryOf(fns, p);
      const pieces = [entry, ...p.subprograms.map((n) => fns.find((f) => f.name === n)!)];
      expect(p.instructions.length).toBe(pieces.reduce((n, f) => n + f.insns.length, 0));
    }
  });

  it('has the maps of both objects with libbpf\'s definitions and initial values', () => {
    expect(
      spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, hex(m.initialData)]),
    ).toEqual(libbpf.maps.map((m) => [libbpfMapName(m.map), m.type, m.key, m.value, m.max, m.flags, m.init]));
  });
});
