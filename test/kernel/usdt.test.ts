/**
 * USDT probes: a host program with inline-asm SDT notes, a libbpf-style usdt program
 * reading its arguments with usdt.bpf.h's bpf_usdt_arg(), fired, detached, and quiet.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { loadCollection } from '../../src/kernel/collection.js';
import { attachUsdt, encodeUsdtSpec, parseUsdtArgs, UsdtArgKind, UsdtLink } from '../../src/kernel/usdt.js';
import { LinkType } from '../../src/uapi/index.js';
import { compileHost, vmlinuxDir } from '../elf/host.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, readU64, u32 } from './support.js';

describe('USDT argument specs', () => {
  it('reads the forms libbpf reads on x86-64', () => {
    const [reg, deref, konst, bare] = parseUsdtArgs('-4@%edi 8@-8(%rbp) -4@$42 2@(%rax)');
    expect(reg).toEqual({ kind: UsdtArgKind.REG, valueOffset: 0n, registerOffset: 112, signed: true, bitShift: 32 });
    expect(deref).toEqual({ kind: UsdtArgKind.REG_DEREF, valueOffset: BigInt.asUintN(64, -8n), registerOffset: 32, signed: false, bitShift: 0 });
    expect(konst).toEqual({ kind: UsdtArgKind.CONST, valueOffset: 42n, registerOffset: 0, signed: true, bitShift: 32 });
    expect(bare).toEqual({ kind: UsdtArgKind.REG_DEREF, valueOffset: 0n, registerOffset: 80, signed: false, bitShift: 48 });
    expect(parseUsdtArgs('')).toEqual([]);
  });

  it('names what it cannot read', () => {
    expect(() => parseUsdtArgs('4@%xmm0')).toThrow(/unknown x86-64 register %xmm0/);
    expect(() => parseUsdtArgs('3@%eax')).toThrow(/size 3/);
    expect(() => parseUsdtArgs('8@(%rax,%rbx,8)')).toThrow(/index registers/);
    expect(() => parseUsdtArgs('rax')).toThrow(/SIZE@LOCATION/);
  });

  it('lays out struct __bpf_usdt_spec as usdt.bpf.h does (arg count at 200, cookie at 192)', () => {
    const bytes = encodeUsdtSpec(parseUsdtArgs('8@%rdi -4@$-1'), 7n);
    const view = new DataView(bytes.buffer);
    expect(bytes.length).toBe(208);
    expect(view.getInt16(12, true)).toBe(112);
    expect(view.getUint32(16 + 8, true)).toBe(UsdtArgKind.CONST);
    expect(view.getBigInt64(16, true)).toBe(-1n);
    expect(view.getBigUint64(192, true)).toBe(7n);
    expect(view.getInt16(200, true)).toBe(2);
  });
});

describeKernel('USDT attach', () => {
  const ticker = compileHost('test/fixtures/cli/usdt_ticker.c');
  const object = () => loadObjectSpec(readFileSync(compileBpf('test/fixtures/cli/usdt_counter.bpf.c', { flags: [`-I${vmlinuxDir()}`, '-D__TARGET_ARCH_x86'] })));
  const run = (n: number) => execFileSync(ticker, [String(n)], { encoding: 'utf8' });

  it('usdt.bpf.h\'s __hidden helpers are verified as static functions, as libbpf does', () => {
    // As global functions the verifier would refuse bpf_usdt_arg's unchecked `*res = 0`.
    expect(object().hiddenFunctions).toEqual(['bpf_usdt_arg_cnt', 'bpf_usdt_arg', 'bpf_usdt_cookie']);
  });

  it('fires with arguments from a register and from memory, then stops when detached', () => {
    using coll = loadCollection(object());
    const seen = coll.map('usdt_seen');
    const read = () => [0, 1, 2].map((slot) => readU64(seen.lookup(u32(slot))!));
    const usdt = attachUsdt(coll.program('on_tick'), ticker, 'bpfkit', 'tick', { specs: coll.map('__bpf_usdt_specs') });
    try {
      expect(usdt.links.length).toBe(1);
      expect(usdt.links[0]!.info().type).toBe(LinkType.PERF_EVENT);
      run(5);
      // Five hits; the last one had i = 5 (in %rdi) and 1000 - i on the stack.
      expect(read()).toEqual([5n, 5n, 995n]);
    } finally {
      usdt.close();
    }
    run(3);
    expect(read()).toEqual([5n, 5n, 995n]);
  });

  it('a probe behind a semaphore is enabled while attached, and disabled after', () => {
    using coll = loadCollection(object());
    const seen = coll.map('usdt_seen');
    const usdt = attachUsdt(coll.program('on_tick'), ticker, 'bpfkit', 'guarded', { specs: coll.map('__bpf_usdt_specs') });
    let out: string;
    try {
      out = run(4);
      expect(out).toBe('semaphore 1\n');
      // Hits counted; argument 0 is the constant 42, argument 1 the loop index.
      expect([0, 1, 2].map((slot) => readU64(seen.lookup(u32(slot))!))).toEqual([4n, 42n, 4n]);
    } finally {
      usdt.close();
    }
    expect(run(2)).toBe('semaphore 0\n');
    expect(readU64(seen.lookup(u32(0))!)).toBe(4n);
  });

  it('auto-attaches from SEC("usdt/PATH:PROVIDER:NAME") with the spec map wired, and detaches', () => {
    const spec = loadObjectSpec(
      readFileSync(compileBpf('test/kernel/fixtures/usdt_auto.c', { flags: [`-I${vmlinuxDir()}`, '-D__TARGET_ARCH_x86', `-DTICKER="${ticker}"`] })),
    );
    expect(spec.programs.find((p) => p.name === 'on_tick')?.attachTarget).toBe(`${ticker}:bpfkit:tick`);
    using coll = loadCollection(spec);
    const seen = coll.map('usdt_seen');
    const read = () => [0, 1, 2].map((slot) => readU64(seen.lookup(u32(slot))!));
    const links = coll.attachAll();
    try {
      expect(links).toHaveLength(1);
      expect(links[0]).toBeInstanceOf(UsdtLink);
      run(5);
      // The arguments come through bpf_usdt_arg(): without the spec map they would read 0.
      expect(read()).toEqual([5n, 5n, 995n]);
    } finally {
      for (const link of links) link.close();
    }
    run(3);
    expect(read()).toEqual([5n, 5n, 995n]);
  });

  it('with a pid, fires only in that process, not in another one running the same binary', async () => {
    using coll = loadCollection(object());
    const seen = coll.map('usdt_seen');
    const hits = () => readU64(seen.lookup(u32(0))!);
    // Both wait on stdin, then exec the ticker: the pid stays, so the target exists (as
    // a shell) before the attach and runs the probed binary after it.
    const waiting = (n: number) => spawn('sh', ['-c', `read go; exec ${ticker} ${n}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const target = waiting(5);
    const other = waiting(3);
    const finish = (child: ChildProcess) =>
      new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`ticker exited with ${code}`))));
        child.stdin!.end('go\n');
      });
    const usdt = attachUsdt(coll.program('on_tick'), ticker, 'bpfkit', 'tick', { specs: coll.map('__bpf_usdt_specs'), pid: target.pid! });
    try {
      await finish(other);
      expect(hits()).toBe(0n);
      await finish(target);
      // Five hits, the last with i = 5: the target's, none of the other's three.
      expect([0, 1, 2].map((slot) => readU64(seen.lookup(u32(slot))!))).toEqual([5n, 5n, 995n]);
      // Another process of the same binary started now is not the target either.
      run(2);
      expect(hits()).toBe(5n);
    } finally {
      usdt.close();
      target.kill();
      other.kill();
    }
  });

  it('spec slots are reused after detach, and an unknown probe is named', () => {
    using coll = loadCollection(object());
    const specs = coll.map('__bpf_usdt_specs');
    const first = attachUsdt(coll.program('on_tick'), ticker, 'bpfkit', 'tick', { specs });
    first.close();
    const second = attachUsdt(coll.program('on_tick'), ticker, 'bpfkit', 'tick', { specs });
    second.close();
    expect(() => attachUsdt(coll.program('on_tick'), ticker, 'bpfkit', 'nope', { specs })).toThrow(/no USDT probe bpfkit:nope \(probes: bpfkit:tick, bpfkit:guarded\)/);
  });
});
