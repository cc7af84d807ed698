import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { createVmCollection } from '../../src/vm/collection.js';
import type { RingBufferMap } from '../../src/vm/maps/ring-buffer-map.js';
import { compileBpf, haveClang } from '../support/clang.js';

/** An Ethernet + IPv4 frame with the given IP protocol and payload length. */
function ipv4Frame(proto: number, payload = 8): Uint8Array {
  const f = new Uint8Array(14 + 20 + payload);
  f[12] = 0x08;
  f[13] = 0x00;
  f[14] = 0x45;
  f[14 + 9] = proto;
  return f;
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (b: Uint8Array | undefined) => (b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));

describe.skipIf(!haveClang('v3'))('vm collection from a clang-compiled object', () => {
  let spec: ObjectSpec;
  beforeAll(() => {
    spec = loadObjectSpec(readFileSync(compileBpf('test/fixtures/vm/programs.c', { cpu: 'v3' })));
  });

  it('runs xdp with hash map atomics, global data, a per-CPU array and the ring buffer', () => {
    using coll = createVmCollection(spec);
    const prog = coll.program('xdp_count');
    const ring = coll.map('events') as RingBufferMap;
    const reader = ring.reader();
    expect(prog.testRun({ data: ipv4Frame(6) }).retval).toBe(2); // XDP_PASS
    expect(prog.testRun({ data: ipv4Frame(6, 20) }).retval).toBe(2);
    expect(prog.testRun({ data: ipv4Frame(17) }).retval).toBe(1); // XDP_DROP: drop_proto
    const other = new Uint8Array(20);
    expect(prog.testRun({ data: other }).retval).toBe(2);
    expect(u64(coll.map('counts').lookup(u32(6)))).toBe(2n);
    expect(u64(coll.map('counts').lookup(u32(17)))).toBe(1n);
    expect(coll.map('counts').lookup(u32(1))).toBeUndefined();
    expect([...coll.map('counts').keys()].length).toBe(2);
    const bss = coll.maps.get('.bss')!;
    expect(u64(bss.lookup(u32(0)))).toBe(3n);
    expect(new DataView(coll.map('.data').lookup(u32(0))!.buffer).getUint32(0, true)).toBe(42);
    const events = reader.drain().map((r) => [new DataView(r.buffer).getUint32(0, true), new DataView(r.buffer).getUint32(4, true)]);
    expect(events).toEqual([[42, 6], [54, 6], [42, 17]]);
    // The per-CPU value is per CPU: all runs were on CPU 0.
    const pc = coll.map('per_cpu').lookup(u32(0))!;
    expect(pc.length).toBe(8 * coll.runtime.cpus);
    expect(u64(pc)).toBe(3n);
    expect(u64(pc.subarray(8))).toBe(0n);
  });

  it('refuses a program write to .rodata but lets user space see it', () => {
    using coll = createVmCollection(spec);
    expect(new DataView(coll.map('.rodata').lookup(u32(0))!.buffer).getUint32(0, true)).toBe(17);
  });

  it('xdp_adjust_head strips the Ethernet header from the output packet', () => {
    using coll = createVmCollection(spec);
    const frame = ipv4Frame(6);
    const r = coll.program('xdp_pop_eth').testRun({ data: frame });
    expect(r.retval).toBe(2);
    expect(r.data).toEqual(frame.subarray(14));
  });

  it('tc: context writes come back in ctx, and tail calls reach the prog array target', () => {
    using coll = createVmCollection(spec);
    const entry = coll.program('tc_entry');
    const frame = ipv4Frame(6);
    expect(entry.testRun({ data: frame, ctx: new Uint8Array(192) }).retval).toBe(1); // empty slot: falls through
    coll.map('jumps').update(u32(0), u32(coll.program('tc_target').fd));
    const r = entry.testRun({ data: frame, ctx: new Uint8Array(192) });
    expect(r.retval).toBe(42);
    const ctx = new DataView(r.ctx!.buffer);
    expect(ctx.getUint32(8, true)).toBe(0x1234); // mark
    expect(ctx.getUint32(48, true)).toBe(frame.length); // cb[0] = len
  });

  it('socket filter: bpf_loop callbacks, ldabs from the network header, trace_printk, zeroed L2 header out', () => {
    using coll = createVmCollection(spec);
    const frame = ipv4Frame(6, 0);
    frame.fill(0xaa, 0, 12);
    const r = coll.program('sock_loop').testRun({ data: frame });
    const len = 20;
    expect(r.retval).toBe((len * (len - 1)) / 2 + 6);
    expect(coll.runtime.env.traceLog).toEqual(['len 20 proto 6']);
    expect(r.data.subarray(0, 14)).toEqual(new Uint8Array(14));
    expect(r.data.subarray(14)).toEqual(frame.subarray(14));
  });
});

describe('test runs by program type', () => {
  it('refuses types the kernel cannot test-run, and runs any type on raw context bytes', async () => {
    const { VmRuntime } = await import('../../src/vm/runtime.js');
    const { testRunProgram, runOnContext } = await import('../../src/vm/test-run.js');
    const { ProgramBuilder, R0, R1 } = await import('../../src/isa/builder.js');
    const { ProgType } = await import('../../src/uapi/prog-types.js');
    const rt = new VmRuntime();
    // A tracepoint reading the u64 after the common fields.
    const prog = rt.load('tp', ProgType.TRACEPOINT, new ProgramBuilder().load(8, R0, R1, 8).exit().build());
    expect(() => testRunProgram(rt, prog, {})).toThrow(/ENOTSUPP/);
    const args = new Uint8Array(new BigUint64Array([1n, 0x1122334455n]).buffer);
    expect(runOnContext(rt, prog, args)).toBe(0x1122334455n);
    // The context is read-only: a store is an invalid context access.
    const writer = rt.load('w', ProgType.TRACEPOINT, new ProgramBuilder().store(8, R1, 8, 1).mov64(R0, 0).exit().build());
    expect(() => runOnContext(rt, writer, args)).toThrow(/invalid context \(tracepoint record\) access: write/);
    // Types without a context of their own see plain read-only bytes.
    const plain = rt.load('p', ProgType.SYSCALL, new ProgramBuilder().store(8, R1, 0, 1).mov64(R0, 0).exit().build());
    expect(() => runOnContext(rt, plain, args)).toThrow(/read-only/);
  });
});
