import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { typedMap } from '../../src/api/typed-map.js';
import { Btf } from '../../src/btf/btf.js';
import { specialFieldOf } from '../../src/btf/value/special.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { loadCollection, type KernelCollection } from '../../src/kernel/collection.js';
import { createMap } from '../../src/kernel/map-create.js';
import { BpfError, VerifierError } from '../../src/kernel/errors.js';
import { UpdateFlags } from '../../src/uapi/index.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, openFdCount, u32 } from './support.js';

// clang 14 drops btf_type_tag from BTF (the pointer would be a plain one): clang-19 keeps it.
function kptrSpec() {
  return loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/kptr.c', { clang: 'clang-19' })));
}

interface Value {
  before: bigint;
  task?: { special: string };
  after: bigint;
}

function runner(coll: KernelCollection) {
  return {
    run: (name: string) => coll.program(name).testRun({}).retval,
    /** What `peek` saw: the stored task's pid, 0 for none. */
    seen: () => new DataView(coll.variable('seen_pid').buffer).getInt32(0, true),
  };
}

const STORED = 0;
const REPLACED = 3;
const EMPTY = 4;

describeKernel('map values holding a kptr', () => {
  it('the object BTF marks the field and loadCollection gives the map that BTF', () => {
    const spec = kptrSpec();
    const btf = Btf.parse(spec.btfData!, { endian: spec.endian });
    const value = btf.resolve(spec.maps.find((m) => m.name === 'tasks')!.valueTypeId!);
    expect(value.kind === 'struct' && value.members.map((m) => specialFieldOf(btf, m.type))).toEqual([undefined, 'kptr', undefined]);
    using coll = loadCollection(spec, { variables: { target_pid: process.pid } });
    const info = coll.map('tasks').info();
    expect(info.btfValueTypeId).toBe(spec.maps.find((m) => m.name === 'tasks')!.valueTypeId);
    expect(info.btfId).toBeGreaterThan(0);
  });

  it('a program stores a referenced task; user space reads the field as zero and the typed view marks it', () => {
    const spec = kptrSpec();
    const before = openFdCount();
    const coll = loadCollection(spec, { variables: { target_pid: process.pid } });
    try {
      const { run, seen } = runner(coll);
      expect(run('store_task')).toBe(STORED);
      expect(run('peek_task')).toBe(0);
      expect(seen()).toBe(process.pid);

      // The kernel zeroes kptr bytes in what a lookup returns: the pointer never leaves it.
      const raw = coll.map('tasks').lookup(u32(0))!;
      expect([...raw.subarray(8, 16)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      const tasks = typedMap<number, Value>(coll, 'tasks', spec, { markSpecialFields: true });
      expect(tasks.get(0)).toEqual({ before: 0x1111n, task: { special: 'kptr' }, after: 0x2222n });
      // Without markers the field is left out.
      expect(typedMap<number, Value>(coll, 'tasks', spec).get(0)).toEqual({ before: 0x1111n, after: 0x2222n });

      // A second store swaps the reference: the program gets the old one back and releases it.
      expect(run('store_task')).toBe(REPLACED);
      expect(run('drop_task')).toBe(STORED);
      expect(run('drop_task')).toBe(EMPTY);
    } finally {
      coll.close(); // the map frees a task still stored in it
    }
    expect(openFdCount()).toBe(before);
  });

  it('a user-space update never writes the pointer: the kernel releases the stored task and keeps the field its own', () => {
    const spec = kptrSpec();
    using coll = loadCollection(spec, { variables: { target_pid: process.pid } });
    const { run, seen } = runner(coll);
    const tasks = typedMap<number, Value>(coll, 'tasks', spec, { markSpecialFields: true });

    // Array: the update copies around the kptr, then frees the old value's kptr
    // (bpf_obj_free_fields): the task reference is dropped, not leaked or overwritten.
    expect(run('store_task')).toBe(STORED);
    coll.map('tasks').update(u32(0), new Uint8Array(24).fill(0xab)); // garbage where the pointer sits
    expect([...coll.map('tasks').lookup(u32(0))!]).toEqual([...Array(8).fill(0xab), ...Array(8).fill(0), ...Array(8).fill(0xab)]);
    expect(run('peek_task')).toBe(0);
    expect(seen()).toBe(0);
    expect(run('drop_task')).toBe(EMPTY);

    // Through the typed view: the marker (or anything) given for the field is not written.
    expect(run('store_task')).toBe(STORED);
    tasks.set(0, { before: 5n, task: { special: 'kptr' }, after: 6n });
    expect(tasks.get(0)).toEqual({ before: 5n, task: { special: 'kptr' }, after: 6n });
    expect(run('drop_task')).toBe(EMPTY);
    // A program can store again after a user-space update.
    expect(run('store_task')).toBe(STORED);
    expect(run('peek_task')).toBe(0);
    expect(seen()).toBe(process.pid);

    // Hash: an update replaces the element, and the old element's task is released with it;
    // a refused update (BPF_NOEXIST on an existing key) leaves the stored task alone.
    const hash = coll.map('tasks_hash');
    hash.update(u32(0), new Uint8Array(24));
    expect(run('store_task_hash')).toBe(STORED);
    expect(() => hash.update(u32(0), new Uint8Array(24).fill(0xab), UpdateFlags.NOEXIST)).toThrow(BpfError);
    expect(run('peek_task_hash')).toBe(0);
    expect(seen()).toBe(process.pid);
    hash.update(u32(0), new Uint8Array(24).fill(0xab));
    expect([...hash.lookup(u32(0))!.subarray(8, 16)]).toEqual(Array(8).fill(0));
    expect(run('peek_task_hash')).toBe(0);
    expect(seen()).toBe(0);
    expect(run('store_task_hash')).toBe(STORED);
    hash.delete(u32(0)); // deleting the element releases its task too
  });

  it('a map created by hand with a kptr field (generated BTF) serves the programs in place of the object’s', () => {
    const spec = kptrSpec();
    using tasks = createMap({ type: 'ARRAY', name: 'tasks', valueSize: 24, maxEntries: 1, valueFields: { kptrs: [{ offset: 8, struct: 'task_struct' }] } });
    expect(tasks.info().btfId).toBeGreaterThan(0);
    {
      using coll = loadCollection(spec, { variables: { target_pid: process.pid }, replaceMaps: { tasks } });
      const { run, seen } = runner(coll);
      expect(run('store_task')).toBe(STORED);
      expect(run('peek_task')).toBe(0);
      expect(seen()).toBe(process.pid);
      expect([...tasks.lookup(u32(0))!.subarray(8, 16)]).toEqual(Array(8).fill(0));
    }
    // The map outlives the collection and still holds the task: a second one finds it.
    using again = loadCollection(spec, { variables: { target_pid: process.pid }, replaceMaps: { tasks } });
    expect(again.program('peek_task').testRun({}).retval).toBe(0);
    expect(runner(again).seen()).toBe(process.pid);
    expect(again.program('drop_task').testRun({}).retval).toBe(STORED);

    // A map without BTF cannot hold a kptr: the verifier refuses bpf_kptr_xchg on it, and the error says why.
    using plain = createMap({ type: 'ARRAY', name: 'tasks', valueSize: 24, maxEntries: 1 });
    expect(() => loadCollection(spec, { programs: ['store_task'], replaceMaps: { tasks: plain } })).toThrow(/the map was created without BTF: values with .*kptr fields need the BTF/);
  });

  it('without the kptr type tag (clang 14) the verifier refusal says which compiler to use', () => {
    const spec = loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/kptr.c')));
    const before = openFdCount();
    let error: unknown;
    try {
      loadCollection(spec, { programs: ['store_task'] }).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).message).toMatch(/R1 has no valid kptr|clang-19/);
    expect((error as VerifierError).message).toMatch(/btf_type_tag\("kptr"\).*clang-19/);
    expect(openFdCount()).toBe(before);
  });
});

