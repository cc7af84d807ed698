import { describe, expect, it } from 'vitest';
import { ProgramBuilder, R0, R1, R2, R3, R4, R5, R6, R10, reg } from '../../src/isa/builder.js';
import { MapType } from '../../src/uapi/map-types.js';
import { ProgType } from '../../src/uapi/prog-types.js';
import { VmFault, VmLoadError } from '../../src/vm/errors.js';
import { helpersFor } from '../../src/vm/helpers/table.js';
import type { RingBufferMap } from '../../src/vm/maps/ring-buffer-map.js';
import { VmRuntime } from '../../src/vm/runtime.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const XDP_DATA = new Uint8Array(64);

/** Store a C string on the stack at r10-`at` (bytes rounded up to 8) and point `r` at it. */
function stackString(p: ProgramBuilder, s: string, at: number, r: number): ProgramBuilder {
  const bytes = new TextEncoder().encode(s + '\0');
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  for (let i = 0; i < padded.length; i += 8) p.lddw(R1, view.getBigUint64(i, true)).store(8, R10, -at + i, reg(R1));
  return p.mov64(r, reg(R10)).alu64('add', r, -at);
}

describe('helper availability per program type', () => {
  it('binds only the helpers a program type may call, and refuses others at load', () => {
    expect(helpersFor(ProgType.XDP).has(44)).toBe(true); // xdp_adjust_head
    expect(helpersFor(ProgType.SOCKET_FILTER).has(44)).toBe(false);
    expect(helpersFor(ProgType.XDP).has(9)).toBe(false); // skb_store_bytes
    expect(helpersFor(ProgType.SCHED_CLS).has(9)).toBe(true);
    expect(helpersFor(ProgType.XDP).has(14)).toBe(false); // get_current_pid_tgid
    expect(helpersFor(ProgType.KPROBE).has(14)).toBe(true);
    const rt = new VmRuntime();
    expect(() => rt.load('p', ProgType.XDP, new ProgramBuilder().call(9).exit().build())).toThrow(VmLoadError);
    expect(() => rt.load('p', ProgType.XDP, new ProgramBuilder().call(9999).exit().build())).toThrow(/unknown func #9999/);
  });
});

describe('helpers', () => {
  it('map lookup/update/delete from a program, with NULL for a missing key', () => {
    const rt = new VmRuntime();
    const m = rt.createMap({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
    const p = new ProgramBuilder()
      .store(4, R10, -4, 7)
      .store(8, R10, -16, 100)
      .lddwPseudo(R1, 'map_fd', m.fd).mov64(R2, reg(R10)).alu64('add', R2, -4).mov64(R3, reg(R10)).alu64('add', R3, -16).mov64(R4, 0)
      .call(2)
      .lddwPseudo(R1, 'map_fd', m.fd).mov64(R2, reg(R10)).alu64('add', R2, -4)
      .call(1)
      .jump('eq', R0, 0, 'null')
      .atomic('add', 8, R0, 0, R6) // r6 = 0 at entry
      .load(8, R0, R0, 0)
      .exit()
      .label('null').mov64(R0, -1).exit()
      .build();
    expect(rt.machine.run(rt.load('p', ProgType.XDP, p))).toBe(100n);
    expect(m.lookup(u32(7))![0]).toBe(100);
  });

  it('a pointer into a map value cannot reach past the value', () => {
    const rt = new VmRuntime();
    const m = rt.createMap({ name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 , flags: 0});
    const p = new ProgramBuilder()
      .store(4, R10, -4, 0)
      .lddwPseudo(R1, 'map_fd', m.fd).mov64(R2, reg(R10)).alu64('add', R2, -4).call(1)
      .load(8, R0, R0, 8) // one past the 8-byte value: the next element's bytes
      .exit()
      .build();
    const e = (() => { try { rt.machine.run(rt.load('p', ProgType.XDP, p)); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(VmFault);
    expect(e).toMatchObject({ kind: 'out_of_bounds', region: 'map a value', size: 8, pc: 6 });
  });

  it('trace_printk writes formatted lines to the trace log', () => {
    const rt = new VmRuntime();
    const p = stackString(new ProgramBuilder(), 'x=%d u=%u s=%s\n', 64, R6);
    stackString(p, 'hi', 72, R5);
    p.mov64(R1, reg(R6)).mov64(R2, 16).mov64(R3, -5).mov64(R4, 42).call(6).exit();
    expect(rt.machine.run(rt.load('p', ProgType.KPROBE, p.build()))).toBe(15n);
    expect(rt.env.traceLog).toEqual(['x=-5 u=42 s=hi']);
    const tooMany = stackString(new ProgramBuilder(), '%d%d%d%d', 64, R1).mov64(R2, 9).call(6).exit();
    expect(BigInt.asIntN(64, rt.machine.run(rt.load('t', ProgType.KPROBE, tooMany.build())))).toBe(-22n);
    const q = stackString(new ProgramBuilder(), '%s|%lx|%c', 64, R6);
    stackString(q, 'str', 72, R3);
    q.mov64(R1, reg(R6)).mov64(R2, 10).lddw(R4, 0x1234567890n).mov64(R5, 65).call(6).exit();
    rt.machine.run(rt.load('q', ProgType.KPROBE, q.build()));
    expect(rt.env.traceLog[1]).toBe('str|1234567890|A');
  });

  it('current task, time and CPU come from the environment', () => {
    const rt = new VmRuntime({ environment: { task: { pid: 7, tgid: 9, uid: 1000, gid: 100, comm: 'curl' }, nowNs: () => 123456789 } });
    const run = (id: number) => rt.machine.run(rt.load('p', ProgType.TRACEPOINT, new ProgramBuilder().call(id).exit().build()), { cpu: 2 });
    expect(run(14)).toBe((9n << 32n) | 7n);
    expect(run(15)).toBe((100n << 32n) | 1000n);
    expect(run(5)).toBe(123456789n);
    expect(run(8)).toBe(2n);
    const p = new ProgramBuilder().mov64(R1, reg(R10)).alu64('add', R1, -16).mov64(R2, 16).call(16).load(4, R0, R10, -16).exit().build();
    expect(rt.machine.run(rt.load('c', ProgType.TRACEPOINT, p))).toBe(BigInt(new DataView(new TextEncoder().encode('curl').buffer).getUint32(0, true)));
  });

  it('probe_read_kernel reads registered memory and fails with -EFAULT elsewhere', () => {
    const rt = new VmRuntime({ environment: { kernelMemory: [{ address: 0xffff888000001000n, bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }] } });
    const read = (addr: bigint) =>
      new ProgramBuilder().mov64(R1, reg(R10)).alu64('add', R1, -8).mov64(R2, 4).lddw(R3, addr).call(113)
        .jump('ne', R0, 0, 'out').load(4, R0, R10, -8).label('out').exit().build();
    expect(rt.machine.run(rt.load('p', ProgType.KPROBE, read(0xffff888000001002n)))).toBe(0x06050403n);
    expect(BigInt.asIntN(64, rt.machine.run(rt.load('p', ProgType.KPROBE, read(0xffff888000001006n))))).toBe(-14n);
    expect(BigInt.asIntN(64, rt.machine.run(rt.load('p', ProgType.KPROBE, read(0x10n))))).toBe(-14n);
  });

  it('ring buffer reserve/submit from a program reaches the reader; an unreleased record is a fault', () => {
    const rt = new VmRuntime();
    const rb = rt.createMap({ name: 'rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 }) as RingBufferMap;
    const reader = rb.reader();
    const reserve = (then: (p: ProgramBuilder) => ProgramBuilder) =>
      then(new ProgramBuilder().lddwPseudo(R1, 'map_fd', rb.fd).mov64(R2, 8).mov64(R3, 0).call(131).jump('eq', R0, 0, 'out').store(8, R0, 0, 77).mov64(R1, reg(R0)))
        .label('out').mov64(R0, 0).exit().build();
    rt.machine.run(rt.load('s', ProgType.XDP, reserve((p) => p.mov64(R2, 0).call(132))));
    expect(reader.drain().map((r) => r[0])).toEqual([77]);
    rt.machine.run(rt.load('d', ProgType.XDP, reserve((p) => p.mov64(R2, 0).call(133))));
    expect(reader.drain()).toEqual([]);
    expect(() => rt.machine.run(rt.load('leak', ProgType.XDP, reserve((p) => p)))).toThrow(/neither submitted nor discarded/);
    // A record's pointer dies with the submit.
    const useAfterSubmit = new ProgramBuilder().lddwPseudo(R1, 'map_fd', rb.fd).mov64(R2, 8).mov64(R3, 0).call(131).jump('eq', R0, 0, 'out')
      .mov64(R6, reg(R0)).mov64(R1, reg(R0)).mov64(R2, 0).call(132).load(8, R0, R6, 0).label('out').exit().build();
    expect(() => rt.machine.run(rt.load('uas', ProgType.XDP, useAfterSubmit))).toThrow(/stale pointer/);
  });

  it('tail calls stop after 33', () => {
    const rt = new VmRuntime();
    const pa = rt.createMap({ name: 'pa', type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
    // Each run adds 1 to a counter in the stack-independent r7... registers survive a tail call except r1 is ctx.
    const p = new ProgramBuilder()
      .alu64('add', R6, 1).mov64(R0, reg(R6))
      .lddwPseudo(R2, 'map_fd', pa.fd).mov64(R3, 0).call(12)
      .exit().build();
    const prog = rt.load('self', ProgType.XDP, p);
    pa.update(u32(0), u32(prog.fd));
    expect(rt.machine.run(prog)).toBe(34n);
  });

  it('bpf_loop calls its callback with the index and stops when it returns 1', () => {
    const rt = new VmRuntime();
    const p = new ProgramBuilder()
      .store(8, R10, -8, 0)
      .mov64(R1, 100).lddwFunc(R2, 'cb').mov64(R3, reg(R10)).alu64('add', R3, -8).mov64(R4, 0)
      .call(181)
      .load(8, R1, R10, -8)
      .alu64('lsh', R0, 32).alu64('or', R0, reg(R1))
      .exit()
      .label('cb') // sum += i; stop after i == 9
      .load(8, R3, R2, 0).alu64('add', R3, reg(R1)).store(8, R2, 0, reg(R3))
      .mov64(R0, 0).jump('ne', R1, 9, 'more').mov64(R0, 1).label('more').exit()
      .build();
    expect(rt.machine.run(rt.load('p', ProgType.XDP, p))).toBe((10n << 32n) | 45n);
  });

  it('xdp contexts: only 4-byte reads, no writes; data/data_end are packet pointers', () => {
    const rt = new VmRuntime();
    const load = (insns: ReturnType<ProgramBuilder['build']>) => rt.load('x', ProgType.XDP, insns);
    const p = new ProgramBuilder().load(4, R2, R1, 0).load(4, R3, R1, 4).mov64(R0, reg(R3)).alu64('sub', R0, reg(R2)).exit().build();
    expect(runXdp(rt, load(p))).toBe(64);
    expect(() => runXdp(rt, load(new ProgramBuilder().load(2, R0, R1, 0).exit().build()))).toThrow(/invalid context \(struct xdp_md\) access/);
    expect(() => runXdp(rt, load(new ProgramBuilder().store(4, R1, 12, 1).mov64(R0, 0).exit().build()))).toThrow(VmFault);
  });
});

import { testRunProgram } from '../../src/vm/test-run.js';
import type { LoadedProgram } from '../../src/vm/program.js';
function runXdp(rt: VmRuntime, prog: LoadedProgram): number {
  return testRunProgram(rt, prog, { data: XDP_DATA }).retval;
}

describe('more helpers', () => {
  it('perf_event_output reaches a reader on the current CPU, and fails with -ENOENT without one', () => {
    const rt = new VmRuntime();
    const pe = rt.createMap({ name: 'pe', type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }) as import('../../src/vm/maps/perf-event-array-map.js').PerfEventArrayMap;
    const p = new ProgramBuilder()
      .store(8, R10, -8, 0x42)
      .mov64(R6, reg(R1))
      .lddwPseudo(R2, 'map_fd', pe.fd).lddw(R3, 0xffffffffn).mov64(R4, reg(R10)).alu64('add', R4, -8).mov64(R5, 8)
      .call(25).exit().build();
    const prog = rt.load('p', ProgType.XDP, p);
    expect(BigInt.asIntN(64, rt.machine.run(prog, { cpu: 1 }))).toBe(-2n);
    const reader = pe.reader();
    expect(rt.machine.run(prog, { cpu: 1 })).toBe(0n);
    expect(reader.drain().map((r) => r[0])).toEqual([0x42]);
  });

  it('a lookup in an array of maps returns the inner map, usable as a map argument', () => {
    const rt = new VmRuntime();
    const inner = rt.createMap({ name: 'inner', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
    const outer = rt.createMap({ name: 'outer', type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
    outer.update(u32(1), u32(inner.fd));
    inner.update(u32(0), new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0]));
    const p = new ProgramBuilder()
      .store(4, R10, -4, 1)
      .lddwPseudo(R1, 'map_fd', outer.fd).mov64(R2, reg(R10)).alu64('add', R2, -4).call(1)
      .jump('eq', R0, 0, 'out')
      .store(4, R10, -4, 0)
      .mov64(R1, reg(R0)).mov64(R2, reg(R10)).alu64('add', R2, -4).call(1)
      .jump('eq', R0, 0, 'out')
      .load(8, R0, R0, 0)
      .label('out').exit().build();
    expect(rt.machine.run(rt.load('p', ProgType.XDP, p))).toBe(9n);
  });

  it('for_each_map_elem visits every element with key and value pointers', () => {
    const rt = new VmRuntime();
    const h = rt.createMap({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, flags: 0 });
    for (const k of [1, 2, 3]) h.update(u32(k), new Uint8Array([k * 10, 0, 0, 0, 0, 0, 0, 0]));
    const p = new ProgramBuilder()
      .store(8, R10, -8, 0)
      .lddwPseudo(R1, 'map_fd', h.fd).lddwFunc(R2, 'cb').mov64(R3, reg(R10)).alu64('add', R3, -8).mov64(R4, 0)
      .call(164)
      .load(8, R1, R10, -8).alu64('mul', R0, 1000).alu64('add', R0, reg(R1)).exit()
      .label('cb') // *ctx += *key + *value
      .load(4, R1, R2, 0).load(8, R3, R3, 0).alu64('add', R1, reg(R3))
      .load(8, R5, R4, 0).alu64('add', R5, reg(R1)).store(8, R4, 0, reg(R5))
      .mov64(R0, 0).exit()
      .build();
    expect(rt.machine.run(rt.load('p', ProgType.XDP, p))).toBe(3n * 1000n + 66n);
  });
});
