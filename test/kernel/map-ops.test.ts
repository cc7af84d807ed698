import { existsSync, unlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MapFlags, UpdateFlags } from '../../src/uapi/index.js';
import { possibleCpus } from '../../src/kernel/cpus.js';
import { BpfError } from '../../src/kernel/errors.js';
import { createMap } from '../../src/kernel/map-create.js';
import { KernelMap } from '../../src/kernel/map.js';
import { describeKernel, openFdCount, readU32, readU64, u32, u64 } from './support.js';

describeKernel('map element operations', () => {
  it('hash: update, lookup, delete, and the NOEXIST/EXIST rules as typed errors', () => {
    using map = createMap({ type: 'HASH', name: 'ops_hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(map.lookup(u32(1))).toBeUndefined();
    map.update(u32(1), u64(100));
    expect(readU64(map.lookup(u32(1))!)).toBe(100n);

    const exists = catchError(() => map.update(u32(1), u64(5), UpdateFlags.NOEXIST));
    expect(exists).toBeInstanceOf(BpfError);
    expect(exists.code).toBe('EEXIST');
    expect(exists.message).toMatch(/ops_hash.*EEXIST.*NOEXIST/);
    const missing = catchError(() => map.update(u32(2), u64(5), UpdateFlags.EXIST));
    expect(missing.code).toBe('ENOENT');
    expect(missing.message).toMatch(/BPF_EXIST/);
    map.update(u32(1), u64(7), UpdateFlags.EXIST);
    expect(readU64(map.lookup(u32(1))!)).toBe(7n);

    for (let i = 2; i <= 4; i++) map.update(u32(i), u64(i));
    const full = catchError(() => map.update(u32(9), u64(9)));
    expect(full.code).toBe('E2BIG');
    expect(full.message).toMatch(/full/);

    expect(map.delete(u32(1))).toBe(true);
    expect(map.delete(u32(1))).toBe(false);
    expect(readU64(map.lookupAndDelete(u32(2))!)).toBe(2n);
    expect(map.lookup(u32(2))).toBeUndefined();
    expect(() => map.lookup(new Uint8Array(3))).toThrow(/key is 3 bytes, expected 4/);
    expect(() => map.update(u32(1), new Uint8Array(4))).toThrow(/value is 4 bytes, expected 8/);
  });

  it('interleaved operations on two maps each reach their own map (the shared attr is rewritten when the map or flags change)', () => {
    using a = createMap({ type: 'HASH', name: 'ops_a', keySize: 4, valueSize: 8, maxEntries: 4 });
    using b = createMap({ type: 'ARRAY', name: 'ops_b', keySize: 4, valueSize: 8, maxEntries: 4 });
    a.update(u32(1), u64(11));
    b.update(u32(1), u64(22));
    const out = new Uint8Array(8);
    for (let i = 0; i < 3; i++) {
      expect(readU64(a.lookup(u32(1))!)).toBe(11n);
      expect(b.lookupInto(u32(1), out)).toBe(true);
      expect(readU64(out)).toBe(22n);
    }
    expect([...a.keys()].map(readU32)).toEqual([1]);
    expect(readU64(a.lookup(u32(1))!)).toBe(11n);
    expect(a.delete(u32(1))).toBe(true);
    expect(a.lookup(u32(1))).toBeUndefined();
    expect(readU64(b.lookup(u32(1))!)).toBe(22n);
    // EXIST after ANY on the same map: the flags word must follow.
    expect(() => a.update(u32(3), u64(3), UpdateFlags.EXIST)).toThrow(/BPF_EXIST/);
    a.update(u32(3), u64(3));
    expect(() => a.lookupInto(u32(3), new Uint8Array(4))).toThrow(/output buffer is 4 bytes, expected 8/);
  });

  it('lookupInto reuses the caller buffer', () => {
    using map = createMap({ type: 'ARRAY', valueSize: 8, maxEntries: 2 });
    map.update(u32(1), u64(42));
    const out = new Uint8Array(8);
    expect(map.lookupInto(u32(1), out)).toBe(true);
    expect(readU64(out)).toBe(42n);
    expect(map.lookupInto(u32(5), out)).toBe(false);
  });

  it('iterates keys and entries', () => {
    using map = createMap({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 100 });
    for (let i = 0; i < 50; i++) map.update(u32(i), u32(i * 2));
    const keys = [...map.keys()].map((k) => readU32(k)).sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const [k, v] of map.entries()) expect(readU32(v)).toBe(readU32(k) * 2);
    expect(map.nextKey()).toBeDefined();
  });

  it('batch lookup, update and delete', () => {
    using map = createMap({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 1000 });
    const n = 700;
    const keys = new Uint8Array(n * 4);
    const values = new Uint8Array(n * 8);
    for (let i = 0; i < n; i++) {
      keys.set(u32(i), i * 4);
      values.set(u64(i * 3), i * 8);
    }
    expect(map.updateBatch(keys, values)).toBe(n);
    const seen = new Map<number, bigint>();
    for (const batch of map.batches(128)) {
      for (let i = 0; i < batch.count; i++) seen.set(readU32(batch.keys, i * 4), readU64(batch.values, i * 8));
    }
    expect(seen.size).toBe(n);
    for (const [k, v] of seen) expect(v).toBe(BigInt(k * 3));
    expect(map.deleteBatch(keys.subarray(0, 100 * 4))).toBe(100);
    expect([...map.keys()].length).toBe(n - 100);
    let deleted = 0;
    for (const batch of map.batches(256, { delete: true })) deleted += batch.count;
    expect(deleted).toBe(n - 100);
    expect(map.nextKey()).toBeUndefined();
  });

  it('batch lookup with batches smaller than a hash bucket: grows instead of failing with ENOSPC, every entry once', () => {
    using map = createMap({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 1000 });
    const n = 1000; // 1000 keys in 1024 buckets: many buckets hold two or more
    for (let i = 0; i < n; i++) map.update(u32(i), u64(i));
    // The kernel's own answer to a one-entry batch over this map (what the retry is for).
    const token = new Uint8Array(map.batchTokenSize);
    const raw = (count: number, inToken: Uint8Array | null) => map.lookupBatchRaw(new Uint8Array(count * 4), new Uint8Array(count * 8), count, inToken, token);
    let enospc = false;
    try {
      for (let step = raw(1, null); !step.done; step = raw(1, token));
    } catch (e) {
      enospc = (e as { code?: string }).code === 'ENOSPC';
    }
    expect(enospc).toBe(true);
    const seen: number[] = [];
    for (const batch of map.batches(1)) for (let i = 0; i < batch.count; i++) seen.push(readU32(batch.keys, i * 4));
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('per-CPU values are one slot per possible CPU', () => {
    const cpus = possibleCpus();
    using map = createMap({ type: 'PERCPU_ARRAY', valueSize: 4, maxEntries: 2 });
    expect(map.userValueSize).toBe(8 * cpus);
    map.updatePerCpu(u32(1), Array.from({ length: cpus }, (_, cpu) => u32(10 + cpu)));
    const values = map.lookupPerCpu(u32(1))!;
    expect(values.map((v) => readU32(v))).toEqual(Array.from({ length: cpus }, (_, cpu) => 10 + cpu));
    // batch over a per-CPU hash packs userValueSize per entry
    using hash = createMap({ type: 'PERCPU_HASH', keySize: 4, valueSize: 8, maxEntries: 16 });
    hash.updatePerCpu(u32(3), Array.from({ length: cpus }, () => u64(5)));
    const [batch] = [...hash.batches(16)];
    expect(batch!.count).toBe(1);
    expect(hash.splitPerCpu(batch!.values).map((v) => readU64(v))).toEqual(Array(cpus).fill(5n));
  });

  it('LPM trie matches the longest prefix', () => {
    using trie = createMap({ type: 'LPM_TRIE', keySize: 8, valueSize: 4, maxEntries: 16 });
    const key = (prefix: number, ip: number[]) => new Uint8Array([...u32(prefix), ...ip]);
    trie.update(key(8, [10, 0, 0, 0]), u32(8));
    trie.update(key(24, [10, 1, 2, 0]), u32(24));
    expect(readU32(trie.lookup(key(32, [10, 1, 2, 3]))!)).toBe(24);
    expect(readU32(trie.lookup(key(32, [10, 9, 9, 9]))!)).toBe(8);
    expect(trie.lookup(key(32, [11, 0, 0, 1]))).toBeUndefined();
  });

  it('queue and stack push, peek and pop', () => {
    using queue = createMap({ type: 'QUEUE', valueSize: 4, maxEntries: 4 });
    using stack = createMap({ type: 'STACK', valueSize: 4, maxEntries: 4 });
    for (const v of [1, 2, 3]) {
      queue.push(u32(v));
      stack.push(u32(v));
    }
    expect(readU32(queue.peek()!)).toBe(1);
    expect([queue.pop(), queue.pop(), queue.pop()].map((v) => readU32(v!))).toEqual([1, 2, 3]);
    expect(queue.pop()).toBeUndefined();
    expect([stack.pop(), stack.pop(), stack.pop()].map((v) => readU32(v!))).toEqual([3, 2, 1]);
  });

  it('bloom filter: pushed values are maybe-present, others mostly absent', () => {
    using bloom = createMap({ type: 'BLOOM_FILTER', valueSize: 8, maxEntries: 1000, mapExtra: 5n });
    for (let i = 0; i < 100; i++) bloom.push(u64(i));
    let falsePositives = 0;
    for (let i = 0; i < 100; i++) {
      expect(bloom.mayContain(u64(i))).toBe(true);
      if (bloom.mayContain(u64(1_000_000 + i))) falsePositives++;
    }
    expect(falsePositives).toBeLessThan(20);
  });

  it('F_LOCK updates and reads a value holding a bpf_spin_lock', () => {
    using map = createMap({ type: 'HASH', keySize: 4, valueSize: 16, maxEntries: 4, valueFields: { spinLock: 0 } });
    const value = new Uint8Array(16);
    value.set(u64(77), 8);
    map.update(u32(1), value, UpdateFlags.LOCK);
    expect(readU64(map.lookup(u32(1), UpdateFlags.LOCK)!, 8)).toBe(77n);
    using plain = createMap({ type: 'HASH', keySize: 4, valueSize: 16, maxEntries: 4 });
    const noLock = catchError(() => plain.update(u32(1), value, UpdateFlags.LOCK));
    expect(noLock.code).toBe('EINVAL');
    expect(noLock.message).toMatch(/spin_lock/);
  });

  it('a value with a bpf_timer gets the BTF the kernel requires', () => {
    using map = createMap({ type: 'ARRAY', valueSize: 24, maxEntries: 1, valueFields: { timer: 8 } });
    expect(map.info().btfId).toBeGreaterThan(0);
    map.update(u32(0), new Uint8Array(24));
  });

  it('freeze makes a map read-only for user space', () => {
    using map = createMap({ type: 'ARRAY', valueSize: 4, maxEntries: 1 });
    map.update(u32(0), u32(5));
    map.freeze();
    expect(map.frozen).toBe(true);
    expect(catchError(() => map.update(u32(0), u32(6))).code).toBe('EPERM');
    expect(readU32(map.lookup(u32(0))!)).toBe(5);
  });

  it('maps of maps hold inner map fds and read back their ids', () => {
    using inner = createMap({ type: 'ARRAY', valueSize: 4, maxEntries: 1 });
    using outer = createMap({ type: 'ARRAY_OF_MAPS', maxEntries: 2, innerMap: inner });
    outer.updateFd(u32(0), inner.fd);
    expect(readU32(outer.lookup(u32(0))!)).toBe(inner.info().id);
    const bad = catchError(() => outer.updateFd(u32(1), 0));
    expect(bad).toBeInstanceOf(BpfError);
  });

  it('mmap of a BPF_F_MMAPABLE array shares memory with lookups', () => {
    const fds = openFdCount();
    const map = createMap({ type: 'ARRAY', valueSize: 8, maxEntries: 16, flags: MapFlags.MMAPABLE });
    const memory = map.mmap();
    const view = new BigUint64Array(memory);
    view[3] = 1234n;
    expect(readU64(map.lookup(u32(3))!)).toBe(1234n);
    map.update(u32(5), u64(99));
    expect(view[5]).toBe(99n);
    map.close();
    expect(memory.byteLength).toBe(0); // detached, not dangling
    expect(openFdCount()).toBe(fds);
  });

  it('pin, open the pin, and unpin', () => {
    const path = `/sys/fs/bpf/bpfkit-test-${process.pid}-map`;
    try {
      using map = createMap({ type: 'HASH', name: 'pinned', keySize: 4, valueSize: 4, maxEntries: 8 });
      map.update(u32(1), u32(11));
      map.pin(path);
      expect(catchError(() => map.pin(path)).code).toBe('EEXIST');
      using again = KernelMap.fromPin(path);
      expect(again.name).toBe('pinned');
      expect(again.keySize).toBe(4);
      expect(readU32(again.lookup(u32(1))!)).toBe(11);
      using byId = KernelMap.fromId(map.info().id);
      expect(byId.maxEntries).toBe(8);
    } finally {
      if (existsSync(path)) unlinkSync(path);
    }
    expect(existsSync(path)).toBe(false);
    expect(catchError(() => KernelMap.fromPin(path)).code).toBe('ENOENT');
  });

  it('a closed map says so', () => {
    const map = createMap({ type: 'ARRAY', valueSize: 4, maxEntries: 1 });
    map.close();
    map.close();
    expect(() => map.lookup(u32(0))).toThrow(/closed/);
  });
});

describe('map creation errors', () => {
  it('explain the rule that was broken', () => {
    expect(() => createMap({ type: 'HASH', keySize: 4, valueSize: 4 })).toThrow(/hash maps need maxEntries/);
    expect(() => createMap({ type: 'ARRAY', keySize: 8, valueSize: 4, maxEntries: 1 })).toThrow(/keySize 4/);
    expect(() => createMap({ type: 'ARRAY_OF_MAPS', maxEntries: 1 })).toThrow(/innerMap/);
  });
});

describeKernel('map creation errors from the kernel', () => {
  it('name the type, the shape and the rule', () => {
    const error = catchError(() => createMap({ type: 'RINGBUF', maxEntries: 1000 }));
    expect(error.code).toBe('EINVAL');
    expect(error.message).toMatch(/ringbuf.*max_entries 1000.*power-of-two/);
  });
});

function catchError(fn: () => unknown): BpfError {
  try {
    fn();
  } catch (error) {
    return error as BpfError;
  }
  throw new Error('expected an error');
}
