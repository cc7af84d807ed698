import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { loadCollection, type KernelCollection } from '../../src/kernel/collection.js';
import type { AutoLink } from '../../src/kernel/auto-attach.js';
import { BpfError } from '../../src/kernel/errors.js';
import { KernelLink } from '../../src/kernel/link.js';
import { LinkType } from '../../src/uapi/index.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, openFdCount, readU64, trampolinesRefused } from './support.js';

/** 50 getppid() calls and a few file opens, in a child process. */
function fire(): void {
  execFileSync('python3', ['-c', 'import os\nfor _ in range(50): os.getppid()\nfor _ in range(5): open("/dev/null").close()']);
}

/** The links as bpf_links (these fixtures have no USDT probe, whose links are per site). */
function kernelLinks(links: readonly AutoLink[]): KernelLink[] {
  return links.map((l) => {
    if (!(l instanceof KernelLink)) throw new Error(`expected a bpf_link, got ${l.description}`);
    return l;
  });
}

function counts(coll: KernelCollection, names: readonly string[]): Record<string, bigint> {
  return Object.fromEntries(names.map((c) => [c, readU64(coll.variable(c))]));
}

describeKernel('auto-attach from section names', () => {
  it('tracepoint, raw_tp, tp_btf and uprobe fire, then stop when detached', () => {
    const names = ['tp_count', 'raw_tp_count', 'tp_btf_count', 'uprobe_count'];
    const before = openFdCount();
    const coll = loadCollection(loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/tracing.c'))));
    try {
      const links = kernelLinks(coll.attachAll());
      // tp_btf links are raw tracepoint links in the kernel.
      expect(links.map((l) => l.info().type).sort()).toEqual([LinkType.RAW_TRACEPOINT, LinkType.RAW_TRACEPOINT, LinkType.PERF_EVENT, LinkType.PERF_EVENT].sort());
      fire();
      const fired = counts(coll, names);
      for (const c of names) expect(fired[c], c).toBeGreaterThanOrEqual(50n);
      for (const link of links) link.close();
      const stopped = counts(coll, names);
      fire();
      expect(counts(coll, names)).toEqual(stopped);
    } finally {
      coll.close();
    }
    expect(openFdCount()).toBe(before);
  });

  it('fentry, fexit and lsm fire and stop, or the kernel refusal is explained', () => {
    // Trampolines patch kernel functions; where the kernel forbids that (lockdown, a
    // sandbox), the load fails with EPERM although we are root, and the error says why.
    const spec = loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/trampoline.c')));
    const names = ['fentry_count', 'fexit_count', 'lsm_count'];
    let coll: KernelCollection;
    try {
      coll = loadCollection(spec);
    } catch (error) {
      if (!trampolinesRefused) throw error;
      expect(error).toBeInstanceOf(BpfError);
      expect((error as BpfError).code).toBe('EPERM');
      expect((error as BpfError).message).toMatch(/lockdown/);
      return;
    }
    expect(trampolinesRefused, 'loaded although the kernel is locked down').toBe(false);
    try {
      const links = kernelLinks(coll.attachAll());
      expect(links.map((l) => l.info().type)).toEqual([LinkType.TRACING, LinkType.TRACING, LinkType.TRACING]);
      fire();
      const fired = counts(coll, names);
      expect(fired.fentry_count).toBeGreaterThanOrEqual(50n);
      expect(fired.fexit_count).toBeGreaterThanOrEqual(50n);
      expect(fired.lsm_count).toBeGreaterThanOrEqual(5n);
      for (const link of links) link.close();
      const stopped = counts(coll, names);
      fire();
      expect(counts(coll, names)).toEqual(stopped);
    } finally {
      coll.close();
    }
  });

  it('a program without an auto-attach target says how to attach it', () => {
    using coll = loadCollection(loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/collection.c'))));
    expect(() => coll.attach('entry')).toThrow(/cannot be attached from its section name.*attachXdp/);
    expect(coll.attachAll()).toEqual([]);
  });
});
