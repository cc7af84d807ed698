import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { attachFreplace } from '../../src/kernel/attach.js';
import { loadCollection, type KernelCollection } from '../../src/kernel/collection.js';
import { BpfError } from '../../src/kernel/errors.js';
import { KernelLink } from '../../src/kernel/link.js';
import { programFunctionBtfId } from '../../src/kernel/program-btf.js';
import { LinkType, ProgType } from '../../src/uapi/index.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, openFdCount, readU64, trampolinesRefused } from './support.js';

const XDP_PASS = 2;
const XDP_DROP = 1;

const targetSpec = () => loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/freplace_target.c')));
const freplaceSpec = () => loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/freplace.c')));

describeKernel('freplace (BPF_PROG_TYPE_EXT)', () => {
  it('the target function is found in the target program’s BTF', () => {
    using target = loadCollection(targetSpec());
    const entry = target.program('entry');
    expect(programFunctionBtfId(entry, 'verdict')).toBeGreaterThan(0);
    expect(() => programFunctionBtfId(entry, 'nope')).toThrow(/no function nope.*verdict/);
  });

  it('an freplace program needs its target program, and says so', () => {
    const spec = freplaceSpec();
    expect(spec.programs[0]).toMatchObject({ name: 'drop_instead', type: ProgType.EXT, attachTarget: 'verdict' });
    const before = openFdCount();
    expect(() => loadCollection(spec)).toThrow(/replaces a function of another program.*attachTargets = \{ drop_instead: targetProgram \}/);
    expect(openFdCount()).toBe(before);
  });

  it('replaces the function, reverts when detached, and re-attaches; or the kernel refusal is explained', () => {
    const before = openFdCount();
    const target = loadCollection(targetSpec());
    try {
      const entry = target.program('entry');
      const run = () => entry.testRun({ data: new Uint8Array(64) }).retval;
      expect(run()).toBe(XDP_PASS);

      let ext: KernelCollection;
      try {
        ext = loadCollection(freplaceSpec(), { attachTargets: { drop_instead: entry } });
      } catch (error) {
        // This kernel refuses every program that runs through a BPF trampoline (fentry,
        // fexit, lsm, freplace) with EPERM before verifying, although we are root.
        if (!trampolinesRefused) throw error;
        expect(error).toBeInstanceOf(BpfError);
        expect((error as BpfError).code).toBe('EPERM');
        expect((error as BpfError).command).toBe('PROG_LOAD');
        expect((error as BpfError).message).toMatch(/freplace.*lockdown|lockdown.*freplace/);
        return;
      }
      expect(trampolinesRefused, 'loaded although the kernel is locked down').toBe(false);
      try {
        const link = ext.attach('drop_instead');
        expect(link).toBeInstanceOf(KernelLink);
        expect((link as KernelLink).info().type).toBe(LinkType.TRACING);
        expect(run()).toBe(XDP_DROP);
        expect(readU64(ext.variable('replaced'))).toBe(1n);
        link.close();
        expect(run()).toBe(XDP_PASS);
        expect(readU64(ext.variable('replaced'))).toBe(1n);
        // Again, through the collection (it passes the target explicitly) and by hand.
        ext.attach('drop_instead').close();
        const again = attachFreplace(ext.program('drop_instead'), { program: entry, function: 'verdict' });
        expect(run()).toBe(XDP_DROP);
        again.close();
        expect(run()).toBe(XDP_PASS);
      } finally {
        ext.close();
      }
    } finally {
      target.close();
    }
    expect(openFdCount()).toBe(before);
  });

  it('fentry/fexit on a BPF program\'s function count its runs and stop when detached; or the kernel refusal is explained', () => {
    const before = openFdCount();
    const target = loadCollection(targetSpec());
    try {
      const entry = target.program('entry');
      const spec = loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/fentry_prog.c')));
      let tracer: KernelCollection;
      try {
        tracer = loadCollection(spec, { attachTargets: { on_entry: entry, on_exit: { program: entry, function: 'entry' } } });
      } catch (error) {
        if (!trampolinesRefused) throw error;
        expect(error).toBeInstanceOf(BpfError);
        expect((error as BpfError).code).toBe('EPERM');
        expect((error as BpfError).message).toMatch(/lockdown/);
        return;
      }
      expect(trampolinesRefused, 'loaded although the kernel is locked down').toBe(false);
      try {
        const links = tracer.attachAll();
        entry.testRun({ data: new Uint8Array(64), repeat: 3 });
        expect(readU64(tracer.variable('entered'))).toBe(3n);
        expect(readU64(tracer.variable('exited'))).toBe(3n);
        for (const link of links) link.close();
        entry.testRun({ data: new Uint8Array(64) });
        expect(readU64(tracer.variable('entered'))).toBe(3n);
      } finally {
        tracer.close();
      }
    } finally {
      target.close();
    }
    expect(openFdCount()).toBe(before);
  });

  it('attachTargets is refused for programs that cannot attach to another program', () => {
    using target = loadCollection(targetSpec());
    expect(() => loadCollection(targetSpec(), { attachTargets: { entry: target.program('entry') } })).toThrow(/cannot attach to another program: attachTargets is for freplace and fentry\/fexit/);
  });
});

