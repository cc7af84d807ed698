import { expect, it } from 'vitest';
import { FP, ProgramBuilder, R0, R1, R2, R3, R4, reg } from '../../src/isa/index.js';
import { createMap } from '../../src/kernel/map-create.js';
import type { KernelMap } from '../../src/kernel/map.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { RingBufferReader } from '../../src/kernel/ring-buffer.js';
import { describeKernel, openFdCount, readU32, readU64 } from './support.js';

const BPF_FUNC_ringbuf_output = 130;
const BPF_FUNC_ktime_get_ns = 5;

/** Writes a 16-byte record {u32 0x11223344, u32 size, u64 ktime} to the ring on every run. */
function producer(ring: KernelMap): KernelProgram {
  const insns = new ProgramBuilder()
    .call(BPF_FUNC_ktime_get_ns)
    .store(8, FP, -8, reg(R0))
    .store(4, FP, -16, 0x11223344)
    .store(4, FP, -12, 16)
    .lddwPseudo(R1, 'map_fd', ring.fd)
    .mov64(R2, reg(FP))
    .alu64('add', R2, -16)
    .mov64(R3, 16)
    .mov64(R4, 0)
    .call(BPF_FUNC_ringbuf_output)
    .mov64(R0, 2)
    .exit()
    .build();
  return KernelProgram.load({ type: 'XDP', name: 'ring_out', instructions: insns });
}

describeKernel('ring buffer reader', () => {
  it('drains committed records from shared memory', () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 * 4 });
    using prog = producer(ring);
    using reader = new RingBufferReader(ring);
    expect(reader.drain()).toEqual([]);
    prog.testRun({ data: new Uint8Array(64), repeat: 100 });
    expect(reader.pending).toBe(100 * 24);
    const records = reader.drain();
    expect(records).toHaveLength(100);
    for (const r of records) {
      expect(r.length).toBe(16);
      expect(readU32(r)).toBe(0x11223344);
      expect(readU64(r, 8)).toBeGreaterThan(0n);
    }
    expect(reader.pending).toBe(0);
  });

  it('wraps around the ring many times without losing a record', () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 });
    using prog = producer(ring);
    using reader = new RingBufferReader(ring);
    let total = 0;
    let wrong = 0;
    for (let round = 0; round < 50; round++) {
      prog.testRun({ data: new Uint8Array(64), repeat: 150 }); // 150 * 24 = 3600 bytes < 4096
      total += reader.consume((r) => {
        if (readU32(r) !== 0x11223344) wrong++;
      });
    }
    expect(total).toBe(50 * 150);
    expect(wrong).toBe(0);
  });

  it('iterates with for await, woken by the kernel, and stops on abort', async () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 * 4 });
    using prog = producer(ring);
    using reader = new RingBufferReader(ring);
    const controller = new AbortController();
    const got: Uint8Array[] = [];
    const timer = setInterval(() => prog.testRun({ data: new Uint8Array(64), repeat: 5 }), 5);
    try {
      for await (const record of reader.records({ signal: controller.signal })) {
        got.push(record);
        if (got.length === 50) controller.abort();
      }
    } finally {
      clearInterval(timer);
    }
    expect(got.length).toBeGreaterThanOrEqual(50);
    expect(got.every((r) => readU32(r) === 0x11223344)).toBe(true);
  });

  it('records() answers next() calls in order, with results of their own, and ends on return()', async () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 * 4 });
    using prog = producer(ring);
    using reader = new RingBufferReader(ring);
    const records = reader.records();
    // Asked for before anything is there: both calls wait, then settle in order.
    const first = records.next();
    const second = records.next();
    expect(first).not.toBe(second);
    prog.testRun({ data: new Uint8Array(64), repeat: 3 });
    const [a, b] = await Promise.all([first, second]);
    expect(a.done).toBe(false);
    expect(b.done).toBe(false);
    expect(a).not.toBe(b);
    expect(readU64(a.value!, 8)).toBeLessThanOrEqual(readU64(b.value!, 8));
    expect(a.value!.length).toBe(16);
    const third = await records.next();
    expect(readU32(third.value!)).toBe(0x11223344);
    prog.testRun({ data: new Uint8Array(64), repeat: 2 });
    expect(await records.return(undefined)).toEqual({ value: undefined, done: true });
    expect(await records.next()).toEqual({ value: undefined, done: true });
    // What return() left in the ring is still there for the next reader call.
    expect(reader.drain()).toHaveLength(2);
  });

  it('records() answers next() calls made at once while records are committed: in order, each its own', async () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 * 4 });
    using prog = producer(ring);
    using reader = new RingBufferReader(ring);
    prog.testRun({ data: new Uint8Array(64), repeat: 40 });
    const records = reader.records();
    const calls = Array.from({ length: 40 }, () => records.next());
    expect(new Set(calls).size).toBe(40);
    const results = await Promise.all(calls);
    expect(new Set(results).size).toBe(40);
    expect(new Set(results.map((r) => r.value)).size).toBe(40);
    for (let i = 1; i < 40; i++) expect(readU64(results[i]!.value!, 8)).toBeGreaterThanOrEqual(readU64(results[i - 1]!.value!, 8));
    expect(reader.pending).toBe(0);
    await records.return(undefined);
  });

  it('records() hands out records that stay valid while the reader and the producer go on', async () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 * 4 });
    using prog = producer(ring);
    using reader = new RingBufferReader(ring);
    const kept: Uint8Array[] = [];
    const snapshots: number[][] = [];
    const records = reader.records();
    // Long runs (copied at once, records are views into the copy) and short ones (a copy each).
    for (const repeat of [150, 3, 150, 1, 100]) {
      prog.testRun({ data: new Uint8Array(64), repeat });
      for (let i = 0; i < repeat; i++) {
        const { value, done } = await records.next();
        expect(done).toBe(false);
        kept.push(value!);
        snapshots.push(Array.from(value!));
      }
    }
    await records.return(undefined);
    // Then the ring (16 KiB) is overwritten several times over.
    for (let round = 0; round < 20; round++) {
      prog.testRun({ data: new Uint8Array(64), repeat: 150 });
      reader.drain();
    }
    expect(kept).toHaveLength(404);
    expect(new Set(kept).size).toBe(404);
    for (let i = 0; i < kept.length; i++) {
      expect(kept[i]!.length).toBe(16);
      expect(Array.from(kept[i]!)).toEqual(snapshots[i]);
      expect(readU32(kept[i]!)).toBe(0x11223344);
    }
    for (let i = 1; i < kept.length; i++) expect(readU64(kept[i]!, 8)).toBeGreaterThanOrEqual(readU64(kept[i - 1]!, 8));
  });

  it('records() publishes the consumer position as it goes, and stops at once on abort', async () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 * 16 });
    using prog = producer(ring);
    using reader = new RingBufferReader(ring);
    using other = new RingBufferReader(ring);
    prog.testRun({ data: new Uint8Array(64), repeat: 2000 });
    const controller = new AbortController();
    let got = 0;
    for await (const record of reader.records({ signal: controller.signal })) {
      expect(record.length).toBe(16);
      if (++got === 1100) {
        // Without waiting or returning, at least the first 1024 are published.
        expect(other.pending).toBeLessThanOrEqual((2000 - 1024) * 24);
        controller.abort();
      }
    }
    expect(got).toBe(1100);
    // Abort ended the iteration and published exactly what it handed out.
    expect(other.pending).toBe(900 * 24);
    expect(other.drain()).toHaveLength(900);
  });

  it('readers of one ring share its consumer position', async () => {
    using ring = createMap({ type: 'RINGBUF', maxEntries: 4096 * 4 });
    using prog = producer(ring);
    using a = new RingBufferReader(ring);
    using b = new RingBufferReader(ring);
    prog.testRun({ data: new Uint8Array(64), repeat: 10 });
    const records = a.records();
    await records.next();
    await records.next();
    await records.return(undefined);
    expect(b.pending).toBe(8 * 24);
    expect(b.drain()).toHaveLength(8);
    expect(a.pending).toBe(0);
    expect(a.drain()).toEqual([]);
    prog.testRun({ data: new Uint8Array(64), repeat: 3 });
    expect(b.consume(() => {}, 1)).toBe(1);
    expect(a.drain()).toHaveLength(2);
    // Closing a reader in the middle of an iteration keeps what it handed out read.
    prog.testRun({ data: new Uint8Array(64), repeat: 4 });
    const more = a.records();
    await more.next();
    a.close();
    expect(b.drain()).toHaveLength(3);
  });

  it('close unmaps, and the reader then refuses to read', () => {
    const before = openFdCount();
    const ring = createMap({ type: 'RINGBUF', maxEntries: 4096 });
    const reader = new RingBufferReader(ring);
    reader.close();
    reader.close();
    expect(() => reader.drain()).toThrow(/closed/);
    ring.close();
    expect(openFdCount()).toBe(before);
    using array = createMap({ type: 'ARRAY', valueSize: 4, maxEntries: 1 });
    expect(() => new RingBufferReader(array)).toThrow(/not a ring buffer/);
  });
});
