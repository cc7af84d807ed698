import { describe, expect, it } from 'vitest';
import { ProgramBuilder, R0, R1, R2, R3, R4, R6, R10, reg } from '../../src/isa/builder.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { MapType } from '../../src/uapi/map-types.js';
import { ProgType } from '../../src/uapi/prog-types.js';
import { perfEventData, PerfEventData } from '../../src/vm/contexts/perf-event-data.js';
import { PtRegs, ptRegs } from '../../src/vm/contexts/pt-regs.js';
import { rawTracepointArgs } from '../../src/vm/contexts/raw-tracepoint.js';
import { VmErrnoError, VmFault, VmLoadError } from '../../src/vm/errors.js';
import { helpersFor } from '../../src/vm/helpers/table.js';
import type { RingBufferMap } from '../../src/vm/maps/ring-buffer-map.js';
import { VmRuntime } from '../../src/vm/runtime.js';
import { runOnContext, testRunProgram } from '../../src/vm/test-run.js';

const rt = new VmRuntime({ environment: { task: { pid: 42, tgid: 41, uid: 0, gid: 0, comm: 'tracee' }, kernelMemory: [{ address: 0xffff888000001000n, bytes: new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]) }] } });

/** r0 = the `size`-byte context field at `off`. */
const loadField = (size: 1 | 2 | 4 | 8, off: number): Instruction[] => new ProgramBuilder().load(size, R0, R1, off).exit().build();

function runField(type: number, size: 1 | 2 | 4 | 8, off: number, ctx: Uint8Array): bigint {
  const prog = rt.load('field', type, loadField(size, off));
  try {
    return runOnContext(rt, prog, ctx);
  } finally {
    rt.unload(prog);
  }
}

function faultOf(f: () => unknown): VmFault {
  try {
    f();
  } catch (e) {
    if (e instanceof VmFault) return e;
    throw e;
  }
  throw new Error('expected a VmFault');
}

describe('tracepoint context (the event record)', () => {
  // A sched_process_exec-like record: 8 bytes of common fields, then u32 at 8, u64 at 16.
  const record = new Uint8Array(24);
  const v = new DataView(record.buffer);
  v.setUint16(0, 316, true); // common_type
  v.setInt32(4, 1234, true); // common_pid
  v.setUint32(8, 0xcafe, true);
  v.setBigUint64(16, 0x1122334455667788n, true);

  it('reads the event fields with any aligned size', () => {
    expect(runField(ProgType.TRACEPOINT, 4, 8, record)).toBe(0xcafen);
    expect(runField(ProgType.TRACEPOINT, 8, 16, record)).toBe(0x1122334455667788n);
    expect(runField(ProgType.TRACEPOINT, 2, 18, record)).toBe(0x5566n);
    expect(runField(ProgType.TRACEPOINT, 1, 23, record)).toBe(0x11n);
  });

  it('refuses the common fields, misaligned loads and stores, and faults past the record', () => {
    for (const [size, off] of [[4, 4], [2, 0], [4, 10], [8, 12]] as const) {
      expect(faultOf(() => runField(ProgType.TRACEPOINT, size, off, record))).toMatchObject({ kind: 'invalid_context_access', pc: 0, region: 'context (tracepoint record)' });
    }
    expect(faultOf(() => runField(ProgType.TRACEPOINT, 8, 24, record))).toMatchObject({ kind: 'out_of_bounds', pc: 0 });
    const writer = rt.load('w', ProgType.TRACEPOINT, new ProgramBuilder().store(8, R1, 8, 1).mov64(R0, 0).exit().build());
    expect(faultOf(() => runOnContext(rt, writer, record))).toMatchObject({ kind: 'invalid_context_access', pc: 0 });
    rt.unload(writer);
  });

  it('is kernel memory to bpf_probe_read_kernel, common fields included', () => {
    // probe_read_kernel(fp-8, 4, ctx + 4): common_pid, which a direct load may not read.
    const p = new ProgramBuilder().mov64(R3, reg(R1)).alu64('add', R3, 4).mov64(R1, reg(R10)).alu64('add', R1, -8).mov64(R2, 4).call(113)
      .load(4, R0, R10, -8).exit().build();
    const prog = rt.load('probe', ProgType.TRACEPOINT, p);
    expect(runOnContext(rt, prog, record)).toBe(1234n);
    rt.unload(prog);
  });

  it('has no test run, as in the kernel', () => {
    const prog = rt.load('tp', ProgType.TRACEPOINT, loadField(4, 8));
    expect(() => testRunProgram(rt, prog, { ctx: record })).toThrow(/ENOTSUPP/);
    rt.unload(prog);
  });
});

describe('raw tracepoint context (u64 arguments)', () => {
  const args = rawTracepointArgs([0xffff888000001000n, -1, 0x100000002n]);

  it('reads arguments as u64s or their aligned parts', () => {
    expect(runField(ProgType.RAW_TRACEPOINT, 8, 8, args)).toBe(0xffffffffffffffffn);
    expect(runField(ProgType.RAW_TRACEPOINT, 4, 16, args)).toBe(2n);
    expect(runField(ProgType.RAW_TRACEPOINT, 4, 20, args)).toBe(1n);
    expect(faultOf(() => runField(ProgType.RAW_TRACEPOINT, 8, 4, args))).toMatchObject({ kind: 'invalid_context_access' });
    expect(faultOf(() => runField(ProgType.RAW_TRACEPOINT, 8, 24, args))).toMatchObject({ kind: 'out_of_bounds', region: 'context (raw tracepoint args)' });
  });

  it('test-runs as bpf_prog_test_run_raw_tp does: arguments in ctx, nothing else', () => {
    const prog = rt.load('raw', ProgType.RAW_TRACEPOINT, loadField(4, 16));
    expect(testRunProgram(rt, prog, { ctx: args }).retval).toBe(2);
    expect(() => testRunProgram(rt, prog, { ctx: args, data: new Uint8Array(14) })).toThrow(VmErrnoError);
    expect(() => testRunProgram(rt, prog, { ctx: args, repeat: 2 })).toThrow(/EINVAL/);
    expect(() => testRunProgram(rt, prog, { ctx: new Uint8Array(13 * 8) })).toThrow(/EINVAL/);
    rt.unload(prog);
  });

  it('calls the tracing helpers: probe_read_kernel of a pointer argument, the current task, ringbuf output', () => {
    const rb = rt.createMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 }) as RingBufferMap;
    const p = new ProgramBuilder()
      .mov64(R6, reg(R1))
      // probe_read_kernel(fp-8, 8, args[0])
      .mov64(R1, reg(R10)).alu64('add', R1, -8).mov64(R2, 8).load(8, R3, R6, 0).call(113)
      // fp-16 = pid_tgid; ringbuf_output(events, fp-16, 16, 0)
      .call(14).store(8, R10, -16, reg(R0))
      .lddwPseudo(R1, 'map_fd', rb.fd).mov64(R2, reg(R10)).alu64('add', R2, -16).mov64(R3, 16).mov64(R4, 0).call(130)
      .exit();
    const prog = rt.load('raw', ProgType.RAW_TRACEPOINT, p.build());
    expect(runOnContext(rt, prog, args)).toBe(0n);
    const [rec] = rb.take(1);
    expect(rec).toBeDefined();
    const rv = new DataView(rec!.buffer, rec!.byteOffset, rec!.byteLength);
    expect(rv.getUint32(0, true)).toBe(42); // pid in the low word
    expect(rv.getUint32(4, true)).toBe(41);
    expect(Array.from(rec!.subarray(8))).toEqual([9, 8, 7, 6, 5, 4, 3, 2]);
    rt.unload(prog);
  });
});

describe('perf event context (struct bpf_perf_event_data)', () => {
  const data = perfEventData({ regs: { ip: 0xffffffff81000000n, di: 7 }, samplePeriod: 0x1_0000_0005n, addr: 0xdead });

  it('reads registers as whole u64s and sample_period/addr in narrower aligned loads', () => {
    expect(runField(ProgType.PERF_EVENT, 8, PtRegs.ip, data)).toBe(0xffffffff81000000n);
    expect(runField(ProgType.PERF_EVENT, 8, PerfEventData.sample_period, data)).toBe(0x1_0000_0005n);
    expect(runField(ProgType.PERF_EVENT, 4, PerfEventData.sample_period, data)).toBe(5n);
    expect(runField(ProgType.PERF_EVENT, 4, PerfEventData.sample_period + 4, data)).toBe(1n);
    expect(runField(ProgType.PERF_EVENT, 2, PerfEventData.addr, data)).toBe(0xdeadn);
    for (const [size, off] of [[4, PtRegs.di], [1, PtRegs.ip], [8, PerfEventData.sample_period + 4]] as const) {
      expect(faultOf(() => runField(ProgType.PERF_EVENT, size, off, data))).toMatchObject({ kind: 'invalid_context_access', region: 'context (struct bpf_perf_event_data)' });
    }
  });

  it('bpf_perf_prog_read_value copies the counter, or zeroes the buffer with -EINVAL for a wrong size', () => {
    const readValue = (size: number) =>
      new ProgramBuilder()
        .store(8, R10, -24, -1).store(8, R10, -16, -1).store(8, R10, -8, -1)
        .mov64(R2, reg(R10)).alu64('add', R2, -24).mov64(R3, size).call(56)
        .mov64(R6, reg(R0))
        // r0 = counter + enabled + running + (helper result << 32)
        .load(8, R0, R10, -24).load(8, R1, R10, -16).alu64('add', R0, reg(R1)).load(8, R1, R10, -8).alu64('add', R0, reg(R1))
        .alu64('lsh', R6, 32).alu64('add', R0, reg(R6))
        .exit().build();
    const value = { counter: 100n, enabled: 20n, running: 3n };
    const ok = rt.load('pe', ProgType.PERF_EVENT, readValue(24));
    expect(runOnContext(rt, ok, data, { perfEventValue: value })).toBe(123n);
    const bad = rt.load('pe', ProgType.PERF_EVENT, readValue(16));
    // 16 bytes zeroed, the third word left at -1, r0 = -EINVAL (-22).
    expect(runOnContext(rt, bad, data, { perfEventValue: value })).toBe(BigInt.asUintN(64, (-22n << 32n) - 1n));
    rt.unload(ok);
    rt.unload(bad);
  });
});

describe('kprobe context (struct pt_regs)', () => {
  it('reads registers in any aligned size inside the struct', () => {
    const regs = ptRegs({ di: 0x1_2345_6789n, si: 3 });
    expect(runField(ProgType.KPROBE, 8, PtRegs.di, regs)).toBe(0x1_2345_6789n);
    expect(runField(ProgType.KPROBE, 4, PtRegs.di, regs)).toBe(0x2345_6789n);
    expect(faultOf(() => runField(ProgType.KPROBE, 8, PtRegs.di + 4, regs))).toMatchObject({ kind: 'invalid_context_access' });
  });
});

describe('helpers of the tracing types', () => {
  it('are those the kernel gives them: tracing helpers yes, spin locks and packet helpers no', () => {
    for (const type of [ProgType.TRACEPOINT, ProgType.RAW_TRACEPOINT, ProgType.PERF_EVENT, ProgType.KPROBE]) {
      const h = helpersFor(type);
      // map ops, probe_read*, ktime, trace_printk, current task, perf_event_output, ringbuf
      for (const id of [1, 2, 3, 4, 5, 6, 14, 15, 16, 25, 45, 112, 113, 114, 115, 130, 131, 132, 133]) expect(h.has(id), `helper ${id} for type ${type}`).toBe(true);
      for (const id of [93, 94, 9, 26, 44]) expect(h.has(id), `helper ${id} for type ${type}`).toBe(false);
      expect(h.has(56)).toBe(type === ProgType.PERF_EVENT);
    }
    expect(helpersFor(ProgType.XDP).has(93)).toBe(true);
    expect(() => rt.load('p', ProgType.TRACEPOINT, new ProgramBuilder().call(56).exit().build())).toThrow(VmLoadError);
  });
});
