import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { loadCollection } from '../../src/kernel/collection.js';
import { VerifierError } from '../../src/kernel/errors.js';
import { createMap } from '../../src/kernel/map-create.js';
import { MapType } from '../../src/uapi/index.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, openFdCount, readU32, readU64, u32 } from './support.js';

const XDP_PASS = 2;
const XDP_DROP = 1;
const packet = () => new Uint8Array(64);

function collectionSpec() {
  return loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/collection.c')));
}

describeKernel('loadCollection', () => {
  it('creates maps, writes global data, relocates and loads programs', () => {
    using coll = loadCollection(collectionSpec());
    expect(coll.backend).toBe('kernel');
    expect([...coll.programs.keys()].sort()).toEqual(['drop_it', 'entry']);
    expect([...coll.maps.keys()].sort()).toEqual(['.bss', '.data', '.rodata', 'counts', 'inner_a', 'inner_b', 'jumps', 'outer', 'totals']);

    const entry = coll.program('entry');
    expect(entry.testRun({ data: packet(), repeat: 3 }).retval).toBe(XDP_PASS);

    // answer (rodata) = 1 is the key; the program counted 3 runs
    expect(readU64(coll.map('counts').lookup(u32(1))!)).toBe(3n);
    // .bss hits, .data seed = 7 + 3 * answer
    expect(readU64(coll.map('.bss').lookup(u32(0))!)).toBe(3n);
    expect(readU32(coll.map('.data').lookup(u32(0))!)).toBe(10);
    // spin-locked total, through BTF from the object
    expect(readU64(coll.map('totals').lookup(u32(0))!, 8)).toBe(3n);
    // the map of maps was filled from its initialiser: slot 0 is inner_a, which got seed
    expect(readU32(coll.map('outer').lookup(u32(0))!)).toBe(coll.map('inner_a').info().id);
    expect(readU32(coll.map('inner_a').lookup(u32(0))!)).toBe(9);
    // .rodata is frozen
    expect(coll.map('.rodata').frozen).toBe(true);
    expect(() => coll.map('.rodata').update(u32(0), u32(5))).toThrow(/EPERM/);
    // the prog array holds drop_it at 1
    expect(coll.map('jumps').type).toBe(MapType.PROG_ARRAY);
    expect(readU32(coll.map('jumps').lookup(u32(1))!)).toBe(coll.program('drop_it').info().id);
  });

  it('applies .rodata values set before load', () => {
    using coll = loadCollection(collectionSpec(), { variables: { answer: 42, seed: 100 } });
    // answer == 42 takes the tail call into drop_it
    expect(coll.program('entry').testRun({ data: packet() }).retval).toBe(XDP_DROP);
    expect(readU64(coll.map('counts').lookup(u32(42))!)).toBe(1n);
    expect(readU32(coll.map('.data').lookup(u32(0))!)).toBe(142);
    expect(() => loadCollection(collectionSpec(), { variables: { nope: 1 } })).toThrow(/no global variable nope.*answer/);
  });

  it('global data is mmapped: user space and the program share .data and .bss', () => {
    using coll = loadCollection(collectionSpec());
    const bss = new BigUint64Array(coll.map('.bss').mmap(), 0, 1);
    const data = new Uint32Array(coll.map('.data').mmap(), 0, 1);
    data[0] = 1000; // seed, read by the program
    coll.program('entry').testRun({ data: packet(), repeat: 2 });
    expect(bss[0]).toBe(2n); // hits, written by the program
    expect(data[0]).toBe(1002);
    expect(readU64(coll.variable('hits'))).toBe(2n);
    // .rodata is frozen: it maps read-only
    expect(new Uint32Array(coll.map('.rodata').mmap())[0]).toBe(1);
  });

  it('names the maps and programs there are when one is missing', () => {
    using coll = loadCollection(collectionSpec());
    expect(() => coll.map('nope')).toThrow(/no map nope.*counts/);
    expect(() => coll.program('nope')).toThrow(/no program nope.*entry/);
  });

  it('closing releases every fd it opened', () => {
    const spec = collectionSpec();
    const before = openFdCount();
    const coll = loadCollection(spec);
    expect(openFdCount()).toBeGreaterThan(before + 8);
    coll.close();
    expect(openFdCount()).toBe(before);
    coll.close();
  });

  it('a failed load releases what it created', () => {
    const spec = collectionSpec();
    spec.programs.find((p) => p.name === 'entry')!.instructions.splice(-1); // drop the exit
    const before = openFdCount();
    expect(() => loadCollection(spec)).toThrow(VerifierError);
    expect(openFdCount()).toBe(before);
  });

  it('pins maps by name and reuses the pin', () => {
    const spec = collectionSpec();
    // A private name, so the pin cannot collide with anything else under /sys/fs/bpf.
    const name = `bpfkit_${process.pid}_counts`;
    const path = `/sys/fs/bpf/${name}`;
    renameMap(spec, 'counts', name);
    spec.maps.find((m) => m.name === name)!.pinning = 'by_name';
    try {
      {
        using first = loadCollection(spec, { pinPath: '/sys/fs/bpf' });
        first.program('entry').testRun({ data: packet() });
      }
      expect(existsSync(path)).toBe(true);
      using second = loadCollection(spec, { pinPath: '/sys/fs/bpf' });
      second.program('entry').testRun({ data: packet() });
      expect(readU64(second.map(name).lookup(u32(1))!)).toBe(2n);
      // An incompatible pinned map is refused, with both shapes named.
      const other = collectionSpec();
      renameMap(other, 'counts', name);
      Object.assign(other.maps.find((m) => m.name === name)!, { pinning: 'by_name', maxEntries: 99 });
      expect(() => loadCollection(other, { pinPath: '/sys/fs/bpf' })).toThrow(/incompatible \(maxEntries differ\)/);
    } finally {
      if (existsSync(path)) unlinkSync(path);
    }
  });

  it("uses the caller's maps in place of the object's, and leaves them open", () => {
    using counts = createMap({ type: 'HASH', name: 'mine', keySize: 4, valueSize: 8, maxEntries: 16 });
    {
      using coll = loadCollection(collectionSpec(), { replaceMaps: { counts } });
      expect(coll.map('counts')).toBe(counts);
      coll.program('entry').testRun({ data: packet(), repeat: 4 });
    }
    expect(counts.closed).toBe(false);
    expect(readU64(counts.lookup(u32(1))!)).toBe(4n);
  });

  it('a rejected object program names its source line', () => {
    const spec = loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/rejected.c')));
    let error: VerifierError | undefined;
    try {
      loadCollection(spec);
    } catch (e) {
      error = e as VerifierError;
    }
    expect(error).toBeInstanceOf(VerifierError);
    expect(error!.sourceLine).toMatch(/return \*\(__u32 \*\)data;/);
    expect(error!.message).toMatch(/unchecked.*\n.*at: return/);
    expect(error!.log).toMatch(/invalid access to packet/);
  });
});

/** Rename a map and every reference to it. */
function renameMap(spec: ReturnType<typeof collectionSpec>, from: string, to: string): void {
  spec.maps.find((m) => m.name === from)!.name = to;
  for (const p of spec.programs) for (const r of p.relocations) if ((r.kind === 'map' || r.kind === 'map_value') && r.map === from) r.map = to;
}
