import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { compileBpf, run } from '../support/clang.js';
import { refSections, refSymbols } from './readelf.js';

/** A section's bytes as llvm-readelf -x dumps them. */
function sectionBytes(path: string, name: string): Buffer {
  const dump = run('llvm-readelf-19', ['-x', name, path]);
  const hex = [...dump.matchAll(/^\s*0x[0-9a-f]+ ((?:[0-9a-f]{2,8} ){1,4})/gm)].map((m) => m[1]!.replace(/ /g, '')).join('');
  return Buffer.from(hex, 'hex');
}

describe.each([
  ['5-field bpf_map_def', 5, false, true],
  ['7-field definition (iproute2-style extras)', 7, false, true],
  ['5-field bpf_map_def, big-endian', 5, true, true],
  ['5-field bpf_map_def, no BTF (no -g)', 5, false, false],
])('legacy maps section: %s', (_label, fields, bigEndian, debug) => {
  const path = compileBpf('test/fixtures/elf/legacy_maps.c', { cpu: 'v2', flags: [`-DDEF_FIELDS=${fields}`], bigEndian, debug });
  const spec = loadObjectSpec(readFileSync(path));

  it(debug ? 'carries BTF and func_info' : 'loads without BTF, with no func_info', () => {
    const hasBtf = refSections(path).some((s) => s.name === '.BTF');
    expect(hasBtf).toBe(debug);
    expect(spec.btfData !== undefined).toBe(debug);
    expect(spec.programs[0]!.funcInfo.length).toBe(debug ? 1 : 0);
  });

  it('decodes each definition from the section bytes at its symbol', () => {
    const sections = refSections(path);
    const maps = sections.find((s) => s.name === 'maps')!;
    const bytes = sectionBytes(path, 'maps');
    expect(bytes.length).toBe(maps.size);
    const syms = refSymbols(path).filter((s) => s.section === maps.index && s.type === 1);
    expect(syms.length).toBe(2);
    expect(maps.size / syms.length).toBe(fields * 4);
    const word = (o: number) => (bigEndian ? bytes.readUInt32BE(o) : bytes.readUInt32LE(o));
    expect(spec.maps.map((m) => ({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags }))).toEqual(
      syms.map((s) => ({ name: s.name, type: word(s.value), keySize: word(s.value + 4), valueSize: word(s.value + 8), maxEntries: word(s.value + 12), flags: word(s.value + 16) })),
    );
    expect(spec.maps.every((m) => m.sectionName === 'maps')).toBe(true);
  });

  it('relocates the program\'s map loads to the legacy maps', () => {
    const [prog] = spec.programs;
    const rel = run('llvm-readelf-19', ['-r', path]);
    const named = [...rel.matchAll(/R_BPF_64_64\s+\S+\s+(legacy_\w+)/g)].map((m) => m[1]);
    expect(prog!.relocations.filter((r) => r.kind === 'map').map((r) => (r as { map: string }).map)).toEqual(named);
  });

  it('reads the license and the kernel version section', () => {
    const version = sectionBytes(path, 'version');
    expect(spec.kernelVersion).toBe(bigEndian ? version.readUInt32BE(0) : version.readUInt32LE(0));
    expect(spec.license).toBe(sectionBytes(path, 'license').toString('latin1').replace(/\0.*$/s, ''));
  });
});
