import { existsSync, unlinkSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ProgramBuilder, R0, R1, R3, reg } from '../../src/isa/index.js';
import { BpfError, VerifierError } from '../../src/kernel/errors.js';
import { createMap } from '../../src/kernel/map-create.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { LogLevel } from '../../src/kernel/program-load.js';
import { describeKernel, openFdCount, readU64, u32, countingProgram } from './support.js';

const XDP_PASS = 2;

/** r0 = XDP_PASS */
const passProgram = () => new ProgramBuilder().mov64(R0, XDP_PASS).exit().build();

describeKernel('programs', () => {
  it('loads from instructions and runs with BPF_PROG_TEST_RUN', () => {
    using prog = KernelProgram.load({ type: 'XDP', name: 'pass', instructions: passProgram() });
    expect(prog.name).toBe('pass');
    const packet = new Uint8Array(64).map((_, i) => i);
    const result = prog.testRun({ data: packet, repeat: 10 });
    expect(result.retval).toBe(XDP_PASS);
    expect(result.data).toEqual(packet);
    expect(result.durationNs).toBeGreaterThanOrEqual(0);
    const info = prog.info();
    expect(info.id).toBeGreaterThan(0);
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
  });

  it('runs raw tracepoint and syscall programs on their ctx alone (their test runners refuse repeat and ctx-out)', () => {
    // r0 = args[1] + 40
    const rawTp = new ProgramBuilder().load(8, R0, R1, 8).alu64('add', R0, 40).exit().build();
    using tp = KernelProgram.load({ type: 'RAW_TRACEPOINT', name: 'raw_tp', instructions: rawTp });
    const args = new Uint8Array(new BigUint64Array([7n, 2n]).buffer);
    expect(tp.testRun({ ctx: args }).retval).toBe(42);
    // A syscall program writes its ctx; the kernel copies it back and testRun returns it.
    const sys = new ProgramBuilder().store(4, R1, 0, 99).mov64(R0, 5).exit().build();
    using syscall = KernelProgram.load({ type: 'SYSCALL', name: 'sys', instructions: sys, flags: 1 << 4 /* BPF_F_SLEEPABLE */ });
    const result = syscall.testRun({ ctx: new Uint8Array(8) });
    expect(result.retval).toBe(5);
    expect(result.ctx && new Uint32Array(result.ctx.buffer, result.ctx.byteOffset, 1)[0]).toBe(99);
  });

  it('uses a map through a map fd relocation', () => {
    using counts = createMap({ type: 'ARRAY', valueSize: 8, maxEntries: 1 });
    using prog = KernelProgram.load({ type: 'XDP', name: 'count', instructions: countingProgram(counts.fd, 0, XDP_PASS) });
    prog.testRun({ data: new Uint8Array(64), repeat: 25 });
    expect(readU64(counts.lookup(u32(0))!)).toBe(25n);
  });

  it('a rejected program raises a VerifierError holding the whole log', () => {
    // r0 = r3: reading a register that was never written
    const bad = new ProgramBuilder().mov64(R0, reg(R3)).exit().build();
    let error: unknown;
    try {
      KernelProgram.load({ type: 'XDP', name: 'bad', instructions: bad });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VerifierError);
    const verifier = error as VerifierError;
    expect(verifier.code).toBe('EACCES');
    expect(verifier.log).toMatch(/R3 !read_ok/);
    expect(verifier.message).toMatch(/program bad \(xdp\).*verifier rejected/);
    expect(verifier.message).toMatch(/R3 !read_ok/);
  });

  it('captures a long log whole, however small the first buffer', () => {
    // A long straight-line program gives a long level-2 log.
    const b = new ProgramBuilder().mov64(R0, 0);
    for (let i = 0; i < 400; i++) b.alu64('add', R0, i);
    const insns = b.mov64(R0, XDP_PASS).exit().build();
    using big = KernelProgram.load({ type: 'XDP', instructions: insns, logLevel: LogLevel.VERBOSE, logSize: 16 << 20 });
    using small = KernelProgram.load({ type: 'XDP', instructions: insns, logLevel: LogLevel.VERBOSE, logSize: 256 });
    expect(big.verifierLog.length).toBeGreaterThan(10_000);
    expect(small.verifierLog).toBe(big.verifierLog);
    expect(small.verifierLog).toMatch(/processed \d+ insns/);
  });

  it('a failing load with a tiny log buffer still gets the whole log', () => {
    const b = new ProgramBuilder().mov64(R0, 0);
    for (let i = 0; i < 200; i++) b.alu64('add', R0, i);
    const insns = b.mov64(R0, reg(R3)).exit().build();
    let error: VerifierError | undefined;
    try {
      KernelProgram.load({ type: 'XDP', instructions: insns, logLevel: LogLevel.VERBOSE, logSize: 200 });
    } catch (e) {
      error = e as VerifierError;
    }
    expect(error).toBeInstanceOf(VerifierError);
    expect(error!.log.startsWith('func#0') || error!.log.startsWith('0:')).toBe(true);
    expect(error!.log).toMatch(/R3 !read_ok/);
    expect(error!.log.length).toBeGreaterThan(5_000);
  });

  it('reports attribute errors without a log as BpfError', () => {
    let error: unknown;
    try {
      KernelProgram.load({ type: 9999, instructions: passProgram() });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BpfError);
    expect((error as BpfError).code).toBe('EINVAL');
  });

  it('pins, opens the pin and opens by id', () => {
    const path = `/sys/fs/bpf/bpfkit-test-${process.pid}-prog`;
    try {
      using prog = KernelProgram.load({ type: 'XDP', name: 'pinme', instructions: passProgram() });
      prog.pin(path);
      using again = KernelProgram.fromPin(path);
      expect(again.name).toBe('pinme');
      expect(again.testRun({ data: new Uint8Array(64) }).retval).toBe(XDP_PASS);
      using byId = KernelProgram.fromId(prog.info().id);
      expect(byId.type).toBe(prog.type);
    } finally {
      if (existsSync(path)) unlinkSync(path);
    }
  });

  it('testRun errors say what the kernel refused', () => {
    using prog = KernelProgram.load({ type: 'XDP', instructions: passProgram() });
    let error: unknown;
    try {
      prog.testRun({ data: new Uint8Array(4) }); // shorter than an Ethernet header
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BpfError);
    expect((error as BpfError).command).toBe('PROG_TEST_RUN');
  });

  it('closing programs releases their fds', () => {
    const before = openFdCount();
    for (let i = 0; i < 20; i++) KernelProgram.load({ type: 'XDP', instructions: passProgram() }).close();
    expect(openFdCount()).toBe(before);
  });
});
