import { describe, expect, it } from 'vitest';
import { MapFlags, MapType, UpdateFlags } from '../../src/uapi/map-types.js';
import { VmErrnoError } from '../../src/vm/errors.js';
import type { RingBufferMap } from '../../src/vm/maps/ring-buffer-map.js';
import { VmRuntime } from '../../src/vm/runtime.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const readU64 = (b: Uint8Array | undefined) => (b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));

function errno(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VmErrnoError) return e.code;
    throw e;
  }
  return 'no error';
}

const base = { name: 'm', flags: 0 };

describe('hash maps', () => {
  it('honours NOEXIST/EXIST, fills up to max_entries with E2BIG, deletes and iterates', () => {
    const rt = new VmRuntime();
    const m = rt.createMap({ ...base, type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2 });
    expect(errno(() => m.update(u32(1), u64(10n), UpdateFlags.EXIST))).toBe('ENOENT');
    m.update(u32(1), u64(10n), UpdateFlags.NOEXIST);
    expect(errno(() => m.update(u32(1), u64(11n), UpdateFlags.NOEXIST))).toBe('EEXIST');
    m.update(u32(1), u64(12n), UpdateFlags.EXIST);
    m.update(u32(2), u64(20n));
    expect(errno(() => m.update(u32(3), u64(30n)))).toBe('E2BIG');
    expect(readU64(m.lookup(u32(1)))).toBe(12n);
    expect([...m.keys()].map((k) => k[0])).toEqual([1, 2]);
    expect(m.nextKey(u32(99))?.[0]).toBe(1); // a missing key restarts iteration
    expect(m.nextKey(u32(2))).toBeUndefined();
    expect(m.delete(u32(1))).toBe(true);
    expect(m.delete(u32(1))).toBe(false);
    expect(m.lookup(u32(1))).toBeUndefined();
    expect(errno(() => m.update(new Uint8Array(3), u64(1n)))).toBe('EINVAL');
    expect(errno(() => m.update(u32(5), u64(1n), 7))).toBe('EINVAL');
  });

  it('LRU evicts the least recently used element instead of failing', () => {
    const rt = new VmRuntime();
    const m = rt.createMap({ ...base, type: MapType.LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 3 });
    for (const k of [1, 2, 3]) m.update(u32(k), u64(BigInt(k)));
    m.lookupRef(u32(1), 0); // a program's lookup marks 1 as used
    m.update(u32(4), u64(4n));
    expect([...m.keys()].map((k) => k[0]).sort()).toEqual([1, 3, 4]);
  });

  it('per-CPU hash keeps one value per virtual CPU', () => {
    const rt = new VmRuntime({ environment: { cpus: 3 } });
    const m = rt.createMap({ ...base, type: MapType.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(m.userValueSize).toBe(24);
    m.update(u32(7), new Uint8Array(24).fill(1));
    m.lookupRef(u32(7), 2)!.set([9, 9, 9, 9]);
    const all = m.lookup(u32(7))!;
    expect([...all.subarray(0, 4)]).toEqual([1, 1, 1, 1]);
    expect([...all.subarray(16, 20)]).toEqual([9, 9, 9, 9]);
  });
});

describe('array maps', () => {
  it('are zeroed, preallocated, refuse NOEXIST and delete, and bound the index', () => {
    const rt = new VmRuntime();
    const m = rt.createMap({ ...base, type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(readU64(m.lookup(u32(3)))).toBe(0n);
    expect(m.lookup(u32(4))).toBeUndefined();
    expect(errno(() => m.update(u32(0), u64(1n), UpdateFlags.NOEXIST))).toBe('EEXIST');
    expect(errno(() => m.update(u32(4), u64(1n)))).toBe('E2BIG');
    expect(errno(() => m.delete(u32(0)))).toBe('EINVAL');
    m.update(u32(2), u64(5n));
    expect(readU64(m.lookup(u32(2)))).toBe(5n);
    expect([...m.keys()].length).toBe(4);
    expect(errno(() => rt.createMap({ ...base, type: MapType.ARRAY, keySize: 8, valueSize: 8, maxEntries: 1 }))).toBe('EINVAL');
  });

  it('per-CPU arrays pad each CPU value to 8 bytes', () => {
    const rt = new VmRuntime({ environment: { cpus: 2 } });
    const m = rt.createMap({ ...base, type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(m.userValueSize).toBe(16);
    m.lookupRef(u32(0), 1)!.set([1, 2, 3, 4]);
    expect([...m.lookup(u32(0))!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
  });
});

describe('lpm trie', () => {
  const key = (bits: number, ...addr: number[]) => new Uint8Array([...u32(bits), ...addr]);
  it('finds the longest matching prefix', () => {
    const rt = new VmRuntime();
    const m = rt.createMap({ ...base, type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, flags: MapFlags.NO_PREALLOC });
    m.update(key(8, 10, 0, 0, 0), u32(1));
    m.update(key(16, 10, 1, 0, 0), u32(2));
    m.update(key(32, 10, 1, 2, 3), u32(3));
    const hit = (...a: number[]) => m.lookup(key(32, ...a))?.[0];
    expect(hit(10, 1, 2, 3)).toBe(3);
    expect(hit(10, 1, 9, 9)).toBe(2);
    expect(hit(10, 9, 9, 9)).toBe(1);
    expect(hit(11, 0, 0, 0)).toBeUndefined();
    expect(m.lookup(key(12, 10, 1, 2, 3))?.[0]).toBe(1); // the key's own prefix length bounds the match
    expect(errno(() => m.update(key(33, 1, 2, 3, 4), u32(1)))).toBe('EINVAL');
    expect(errno(() => rt.createMap({ ...base, type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8 }))).toBe('EINVAL');
  });
});

describe('queue, stack and bloom filter', () => {
  it('queue is FIFO, stack is LIFO; full pushes fail unless BPF_EXIST drops the oldest', () => {
    const rt = new VmRuntime();
    const q = rt.createMap({ ...base, type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 });
    const s = rt.createMap({ ...base, type: MapType.STACK, keySize: 0, valueSize: 4, maxEntries: 2 });
    const none = new Uint8Array(0);
    for (const m of [q, s]) {
      m.update(none, u32(1));
      m.update(none, u32(2));
      expect(errno(() => m.update(none, u32(3)))).toBe('E2BIG');
    }
    q.update(none, u32(3), UpdateFlags.EXIST);
    expect([q.lookupAndDelete(none)?.[0], q.lookupAndDelete(none)?.[0], q.lookupAndDelete(none)]).toEqual([2, 3, undefined]);
    expect([s.lookup(none)?.[0], s.lookupAndDelete(none)?.[0], s.lookupAndDelete(none)?.[0]]).toEqual([2, 2, 1]);
  });

  it('bloom filter has no false negatives', () => {
    const rt = new VmRuntime();
    const b = rt.createMap({ ...base, type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 100 });
    for (let i = 0; i < 100; i++) b.update(new Uint8Array(0), u32(i * 7919));
    for (let i = 0; i < 100; i++) expect(b.lookup(u32(i * 7919))).toBeDefined();
    let falsePositives = 0;
    for (let i = 0; i < 1000; i++) if (b.lookup(u32(1_000_000 + i)) !== undefined) falsePositives++;
    expect(falsePositives).toBeLessThan(100);
  });
});

describe('ring buffer', () => {
  it('delivers committed records in reservation order, stops at one still reserved, accounts space like the kernel', async () => {
    const rt = new VmRuntime();
    const rb = rt.createMap({ ...base, type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }) as RingBufferMap;
    const reader = rb.reader();
    const a = rb.reserve(4)!;
    const b = rb.reserve(12)!;
    const c = rb.reserve(1)!;
    a.data.set([1]);
    b.data.set([2]);
    c.data.set([3]);
    rb.commit(b, false);
    expect(reader.drain()).toEqual([]); // a is still reserved
    rb.commit(a, false);
    rb.commit(c, true);
    expect(reader.drain().map((r) => r[0])).toEqual([1, 2]);
    expect(rb.query(0)).toBe(0);
    // 4096 bytes hold 4096 / (8 + 8) records of 1..8 bytes.
    let n = 0;
    while (rb.reserve(8) !== undefined) n++;
    expect(n).toBe(256);
    expect(errno(() => rt.createMap({ ...base, type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 5000 }))).toBe('EINVAL');
    const it = reader[Symbol.asyncIterator]();
    const next = it.next();
    reader.close();
    expect((await next).done).toBe(true);
  });

  it('the async iterator yields records as they are submitted', async () => {
    const rt = new VmRuntime();
    const rb = rt.createMap({ ...base, type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }) as RingBufferMap;
    const reader = rb.reader();
    const got: number[] = [];
    const done = (async () => {
      for await (const r of reader) {
        got.push(r[0]!);
        if (got.length === 2) break;
      }
    })();
    for (const v of [5, 6]) {
      const r = rb.reserve(1)!;
      r.data[0] = v;
      rb.commit(r, false);
      await Promise.resolve();
    }
    await done;
    expect(got).toEqual([5, 6]);
  });
});

describe('fd maps', () => {
  it('prog arrays refuse fds that are not programs', () => {
    const rt = new VmRuntime();
    const pa = rt.createMap({ ...base, type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(errno(() => pa.update(u32(0), u32(12345)))).toBe('EBADF');
    expect(errno(() => pa.update(u32(2), u32(12345)))).toBe('E2BIG');
  });
});
