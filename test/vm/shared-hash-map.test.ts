import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MapType } from '../../src/uapi/map-types.js';
import { VmErrnoError } from '../../src/vm/errors.js';
import type { SharedHashMap } from '../../src/vm/maps/shared-hash-map.js';
import { VmRuntime } from '../../src/vm/runtime.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const readU64 = (b: Uint8Array, at = 0) => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);

describe('shared hash maps (one thread)', () => {
  it('have the kernel semantics of a preallocated hash: flags, E2BIG, delete, iteration', () => {
    const rt = new VmRuntime();
    const m = rt.createMap({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 3, flags: 0, shared: true }) as SharedHashMap;
    m.update(u32(1), u64(10n));
    m.update(u32(2), u64(20n), 1);
    expect(() => m.update(u32(2), u64(0n), 1)).toThrow(/EEXIST/);
    expect(() => m.update(u32(9), u64(0n), 2)).toThrow(/ENOENT/);
    m.update(u32(3), u64(30n));
    expect(() => m.update(u32(4), u64(40n))).toThrow(/E2BIG/);
    m.update(u32(3), u64(33n), 2); // replacing needs no free element
    expect(m.delete(u32(2))).toBe(true);
    expect(m.delete(u32(2))).toBe(false);
    m.update(u32(4), u64(40n)); // the deleted element's slot is free again
    expect(m.size).toBe(3);
    const entries = [...m.entries()].map(([k, v]) => [new DataView(k.buffer).getUint32(0, true), readU64(v)]).sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(entries).toEqual([[1, 10n], [3, 33n], [4, 40n]]);
    // A key not in the map restarts iteration at the first key, as in the kernel.
    expect(m.nextKey(u32(99))).toEqual(m.nextKey(undefined));
  });

  it('are one map for every runtime attached to the buffer; mismatched parameters are refused', () => {
    const a = new VmRuntime();
    const def = { name: 'pc', type: MapType.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 8, flags: 0 };
    const m = a.createMap({ ...def, shared: true }) as SharedHashMap;
    const b = new VmRuntime();
    const other = b.createMap({ ...def, shared: m.sharedBuffer });
    // Per-CPU: 4 CPUs, each value rounded up to 8 bytes.
    const value = new Uint8Array(32);
    value[0] = 1;
    value[24] = 4;
    other.update(u32(5), value);
    expect(m.lookup(u32(5))).toEqual(value);
    expect(m.lookupRef(u32(5), 3)![0]).toBe(4);
    expect(() => b.createMap({ ...def, maxEntries: 9, shared: m.sharedBuffer })).toThrow(VmErrnoError);
    expect(() => b.createMap({ ...def, keySize: 8, shared: m.sharedBuffer })).toThrow(/other parameters|needs/);
    expect(() => a.createMap({ ...def, type: MapType.LRU_HASH, shared: true })).toThrow(/EINVAL/);
  });
});

interface Running {
  ready: Promise<void>;
  done: Promise<number>;
}

function startWorker(workerData: Record<string, unknown>): Running {
  const w = new Worker(new URL('./shared-hash-map-worker.mjs', import.meta.url), { workerData });
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<number>((resolve, reject) => {
    w.on('message', (m: 'ready' | { misses: number }) => (m === 'ready' ? ready() : resolve(m.misses)));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
  });
  return { ready: readyP, done };
}

describe('shared hash maps in several workers', () => {
  // Every worker inserts the same keys in the same order with BPF_NOEXIST, then looks each
  // up and increments it: they race on every key and on every bucket. Without the bucket
  // and free-list locks keys get lost (a failed lookup), duplicated, or two keys share one
  // element.
  it.each([
    ['hash', MapType.HASH],
    ['per-CPU hash', MapType.PERCPU_HASH],
  ])('%s: concurrent inserts and increments lose nothing', async (_name, type) => {
    const keys = 20_000;
    const workers = 3;
    const rt = new VmRuntime();
    const map = rt.createMap({ name: 'shared', type, keySize: 4, valueSize: 8, maxEntries: keys, flags: 0, shared: true }) as SharedHashMap;
    const gate = new SharedArrayBuffer(4);
    const running = Array.from({ length: workers }, (_, cpu) => startWorker({ buffer: map.sharedBuffer, gate, keys, type, cpu }));
    await Promise.all(running.map((w) => w.ready));
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    expect(await Promise.all(running.map((w) => w.done))).toEqual(new Array(workers).fill(0));
    expect(map.size).toBe(keys);
    const seen = new Set<number>();
    let wrong = 0;
    for (const [k, v] of map.entries()) {
      seen.add(new DataView(k.buffer, k.byteOffset).getUint32(0, true));
      if (type === MapType.HASH) {
        if (readU64(v) !== BigInt(workers)) wrong++;
      } else {
        // Worker i ran on CPU i: one increment in each of the first `workers` CPUs' values.
        for (let c = 0; c < map.cpus; c++) if (readU64(v, c * 8) !== (c < workers ? 1n : 0n)) wrong++;
      }
    }
    expect(seen.size).toBe(keys);
    expect(wrong).toBe(0);
  }, 60_000);
});
