import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { parseElf } from '../../src/elf/elf-file.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { loadCollection, type KernelCollection } from '../../src/kernel/collection.js';
import { KernelLink } from '../../src/kernel/link.js';
import { attachUprobeMulti, matchFunctionOffsets } from '../../src/kernel/uprobe-multi.js';
import { AttachType, LinkType } from '../../src/uapi/index.js';
import { compileHost } from '../elf/host.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, openFdCount, readU64 } from './support.js';

describeKernel('uprobe_multi links', () => {
  const host = compileHost('test/kernel/fixtures/multi_host.c');
  /** Calls bpfkit_multi_a `a` times, bpfkit_multi_b `b` times, bpfkit_other `c` times. */
  const run = (a: number, b: number, c: number) => execFileSync(host, [String(a), String(b), String(c)]);
  const load = () => loadCollection(loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/uprobe_multi.c', { flags: [`-DHOST="${host}"`] }))));
  const count = (coll: KernelCollection, name: string) => readU64(coll.variable(name));
  const cookies = (coll: KernelCollection) => {
    const bytes = coll.variable('cookie_hits');
    return [0, 1, 2, 3].map((i) => readU64(bytes, i * 8));
  };

  it('a glob finds every matching function once', () => {
    const matched = matchFunctionOffsets(parseElf(readFileSync(host)), 'bpfkit_multi_*');
    expect(matched.map((m) => m.name).sort()).toEqual(['bpfkit_multi_a', 'bpfkit_multi_b']);
    expect(new Set(matched.map((m) => m.offset)).size).toBe(2);
  });

  it('auto-attaches "uprobe.multi/PATH:PATTERN" with one link for every match, fires, and stops when detached', () => {
    const before = openFdCount();
    const coll = load();
    try {
      const links = coll.attachAll();
      expect(links).toHaveLength(1); // on_cookie and on_return name no target
      const link = links[0] as KernelLink;
      expect(link.info().type).toBe(LinkType.UPROBE_MULTI);
      run(3, 5, 7);
      expect(count(coll, 'multi_hits')).toBe(8n); // a and b, not bpfkit_other
      link.close();
      run(3, 5, 7);
      expect(count(coll, 'multi_hits')).toBe(8n);
    } finally {
      coll.close();
    }
    expect(openFdCount()).toBe(before);
  });

  it('named functions with a cookie each, return probes, and a pid filter', async () => {
    using coll = load();
    const link = attachUprobeMulti(coll.program('on_cookie'), host, { symbols: ['bpfkit_multi_a', 'bpfkit_other'], cookies: [1n, 3n] });
    const returns = attachUprobeMulti(coll.program('on_return'), host, { pattern: 'bpfkit_*', retprobe: true });
    try {
      run(2, 4, 6);
      expect(cookies(coll)).toEqual([0n, 2n, 0n, 6n]);
      expect(count(coll, 'return_hits')).toBe(12n);
    } finally {
      link.close();
      returns.close();
    }
    run(2, 4, 6);
    expect(cookies(coll)).toEqual([0n, 2n, 0n, 6n]);
    expect(count(coll, 'return_hits')).toBe(12n);

    // With a pid: only that process. It waits as a shell, then execs the host (same pid).
    const target = spawn('sh', ['-c', `read go; exec ${host} 1 5 1`], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => target.on('exit', resolve));
    const onlyTarget = attachUprobeMulti(coll.program('on_cookie'), host, { symbols: ['bpfkit_multi_b'], cookies: [2n], pid: target.pid! });
    try {
      run(1, 1, 1);
      expect(cookies(coll)).toEqual([0n, 2n, 0n, 6n]);
      target.stdin!.end('go\n');
      expect(await exited).toBe(0);
      expect(cookies(coll)).toEqual([0n, 2n, 5n, 6n]);
    } finally {
      onlyTarget.close();
      target.kill();
    }
  });

  it('says what is wrong before the kernel does', () => {
    using coll = load();
    const program = coll.program('on_cookie');
    expect(program.expectedAttachType).toBe(AttachType.TRACE_UPROBE_MULTI);
    expect(() => attachUprobeMulti(program, host, { pattern: 'nothing_like_this*' })).toThrow(/no function of .* matches "nothing_like_this\*"/);
    expect(() => attachUprobeMulti(program, host, { symbols: ['bpfkit_multi_a'], cookies: [1n, 2n] })).toThrow(/2 cookies for 1 probes/);
    expect(() => attachUprobeMulti(program, host, {})).toThrow(/give symbols, a pattern or offsets/);
  });
});
