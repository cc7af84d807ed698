import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { createMap } from '../../src/kernel/map-create.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { attachUprobe } from '../../src/kernel/uprobe.js';
import { LinkType } from '../../src/uapi/index.js';
import { compileHost } from '../elf/host.js';
import { describeKernel, readU64, u32, countingProgram } from './support.js';

const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib64/libc.so.6'].find((p) => existsSync(p))!;

/** 50 calls of libc's getppid() in a child process. */
const fire = () => execFileSync('python3', ['-c', 'import os\nfor _ in range(50): os.getppid()']);

describeKernel('uprobes', () => {
  it('uprobe and uretprobe on a libc function fire, then stop when detached', () => {
    using counter = createMap({ type: 'ARRAY', valueSize: 8, maxEntries: 2 });
    using entry = KernelProgram.load({ type: 'KPROBE', instructions: countingProgram(counter.fd, 0, 0) });
    using exit = KernelProgram.load({ type: 'KPROBE', instructions: countingProgram(counter.fd, 1, 0) });
    const read = () => [readU64(counter.lookup(u32(0))!), readU64(counter.lookup(u32(1))!)];
    const probe = attachUprobe(entry, libc, 'getppid');
    const retprobe = attachUprobe(exit, libc, 'getppid', { retprobe: true });
    expect(probe.info().type).toBe(LinkType.PERF_EVENT);
    fire();
    const [calls, returns] = read();
    expect(calls).toBeGreaterThanOrEqual(50n);
    expect(returns).toBeGreaterThanOrEqual(50n);
    probe.close();
    retprobe.close();
    const stopped = read();
    fire();
    expect(read()).toEqual(stopped);
  });

  it('with a pid, fires only in that process', async () => {
    const host = compileHost('test/kernel/fixtures/multi_host.c');
    using counter = createMap({ type: 'ARRAY', valueSize: 8, maxEntries: 1 });
    using prog = KernelProgram.load({ type: 'KPROBE', instructions: countingProgram(counter.fd, 0, 0) });
    const hits = () => readU64(counter.lookup(u32(0))!);
    // The target waits as a shell, then execs the host binary: the pid stays the same.
    const target = spawn('sh', ['-c', `read go; exec ${host} 4 0 0`], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => target.on('exit', resolve));
    const link = attachUprobe(prog, host, 'bpfkit_multi_a', { pid: target.pid! });
    try {
      execFileSync(host, ['3', '0', '0']); // another process: not counted
      expect(hits()).toBe(0n);
      target.stdin!.end('go\n');
      expect(await exited).toBe(0);
      expect(hits()).toBe(4n);
    } finally {
      link.close();
      target.kill();
    }
  });

  it('a symbol the binary lacks is named', () => {
    using counter = createMap({ type: 'ARRAY', valueSize: 8, maxEntries: 1 });
    using prog = KernelProgram.load({ type: 'KPROBE', instructions: countingProgram(counter.fd, 0, 0) });
    expect(() => attachUprobe(prog, libc, 'no_such_function_here')).toThrow(/no_such_function_here/);
  });
});
