import { expect, it } from 'vitest';
import { FP, ProgramBuilder, R0, R1, R2, R3, R4, R5, R6, reg } from '../../src/isa/index.js';
import { createMap } from '../../src/kernel/map-create.js';
import type { KernelMap } from '../../src/kernel/map.js';
import { PerfEventArrayReader } from '../../src/kernel/perf-reader.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { describeKernel, openFdCount, readU32 } from './support.js';

const BPF_FUNC_perf_event_output = 25;

/** Emits a 12-byte sample {0xabcdef01, 2, 3} to the current CPU's ring on every run. */
function emitter(events: KernelMap): KernelProgram {
  const insns = new ProgramBuilder()
    .mov64(R6, reg(R1))
    .store(4, FP, -12, 0xabcdef01)
    .store(4, FP, -8, 2)
    .store(4, FP, -4, 3)
    .mov64(R1, reg(R6))
    .lddwPseudo(R2, 'map_fd', events.fd)
    .lddw(R3, 0xffffffffn) // BPF_F_CURRENT_CPU
    .mov64(R4, reg(FP))
    .alu64('add', R4, -12)
    .mov64(R5, 12)
    .call(BPF_FUNC_perf_event_output)
    .mov64(R0, 2)
    .exit()
    .build();
  return KernelProgram.load({ type: 'XDP', name: 'perf_out', instructions: insns });
}

describeKernel('perf event array reader', () => {
  it('reads samples from every CPU ring, across wrap-arounds', () => {
    const before = openFdCount();
    {
      using events = createMap({ type: 'PERF_EVENT_ARRAY' });
      using prog = emitter(events);
      using reader = new PerfEventArrayReader(events, { pagesPerCpu: 1 });
      let total = 0;
      let wrong = 0;
      for (let round = 0; round < 20; round++) {
        prog.testRun({ data: new Uint8Array(64), repeat: 100 }); // 100 * 24 bytes < one 4 KiB page
        total += reader.consume((r) => {
          if (r.length !== 12 || readU32(r) !== 0xabcdef01 || readU32(r, 8) !== 3) wrong++;
        });
      }
      expect(total).toBe(2000);
      expect(wrong).toBe(0);
      expect(reader.lost).toBe(0);
    }
    expect(openFdCount()).toBe(before);
  });

  it('counts lost samples when a ring overflows', () => {
    using events = createMap({ type: 'PERF_EVENT_ARRAY' });
    using prog = emitter(events);
    using reader = new PerfEventArrayReader(events, { pagesPerCpu: 1 });
    prog.testRun({ data: new Uint8Array(64), repeat: 1000 }); // far more than a page holds
    const got = reader.drain().length;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(1000);
    // The kernel writes the LOST record when it next has room: one more sample brings it.
    prog.testRun({ data: new Uint8Array(64) });
    const more = reader.drain().length;
    expect(reader.lost).toBeGreaterThan(0);
    expect(reader.lost + got + more).toBe(1001);
  });

  it('wakes a for-await loop when samples arrive', async () => {
    using events = createMap({ type: 'PERF_EVENT_ARRAY' });
    using prog = emitter(events);
    using reader = new PerfEventArrayReader(events);
    const controller = new AbortController();
    const timer = setInterval(() => prog.testRun({ data: new Uint8Array(64), repeat: 3 }), 5);
    let n = 0;
    try {
      for await (const record of reader.records({ signal: controller.signal })) {
        expect(readU32(record)).toBe(0xabcdef01);
        if (++n === 30) controller.abort();
      }
    } finally {
      clearInterval(timer);
    }
    expect(n).toBeGreaterThanOrEqual(30);
  });
});
