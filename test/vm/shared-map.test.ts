import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MapType } from '../../src/uapi/map-types.js';
import type { ArrayMap } from '../../src/vm/maps/array-map.js';
import { VmRuntime } from '../../src/vm/runtime.js';

interface Running {
  ready: Promise<void>;
  done: Promise<void>;
}

function startWorker(buffer: SharedArrayBuffer, gate: SharedArrayBuffer, iterations: number, tier: 'interpreter' | 'js'): Running {
  const w = new Worker(new URL('./shared-map-worker.mjs', import.meta.url), { workerData: { buffer, gate, iterations, tier } });
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<void>((resolve, reject) => {
    w.on('message', (m) => (m === 'ready' ? ready() : resolve()));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  });
  return { ready: readyP, done };
}

describe('array maps in a SharedArrayBuffer', () => {
  it('programs in several workers increment one value atomically', async () => {
    const rt = new VmRuntime();
    const map = rt.createMap({ name: 'shared', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, shared: true }) as ArrayMap;
    const buffer = map.sharedBuffer!;
    expect(buffer).toBeInstanceOf(SharedArrayBuffer);
    const gate = new SharedArrayBuffer(4);
    const n = 300_000;
    const workers = [startWorker(buffer, gate, n, 'interpreter'), startWorker(buffer, gate, n, 'js'), startWorker(buffer, gate, n, 'js')];
    await Promise.all(workers.map((w) => w.ready));
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    await Promise.all(workers.map((w) => w.done));
    expect(new DataView(map.lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true)).toBe(BigInt(3 * n));
  }, 60_000);
});
