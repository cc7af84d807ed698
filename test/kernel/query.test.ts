import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { ProgramBuilder, R0 } from '../../src/isa/index.js';
import { attachCgroup, attachRawTracepoint } from '../../src/kernel/attach.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { enableRunTimeStats, queryAttached } from '../../src/kernel/query.js';
import { AttachType } from '../../src/uapi/index.js';
import { describeKernel, scratchCgroup } from './support.js';

const returns = (n: number) => new ProgramBuilder().mov64(R0, n).exit().build();

describeKernel('query and stats', () => {
  it('PROG_QUERY lists the programs and links attached to a cgroup', () => {
    using prog = KernelProgram.load({ type: 'CGROUP_SOCK', expectedAttachType: AttachType.CGROUP_INET_SOCK_CREATE, instructions: returns(1) });
    const cgroup = scratchCgroup();
    try {
      expect(queryAttached(cgroup.path, AttachType.CGROUP_INET_SOCK_CREATE).programIds).toEqual([]);
      using link = attachCgroup(prog, cgroup.path);
      const attached = queryAttached(cgroup.path, AttachType.CGROUP_INET_SOCK_CREATE);
      expect(attached.programIds).toEqual([prog.info().id]);
      // Link ids are reported for tcx; for cgroups this kernel leaves them 0.
      expect(attached.linkIds).toHaveLength(1);
      expect([0, link.info().id]).toContain(attached.linkIds[0]);
    } finally {
      cgroup.remove();
    }
  });

  it('ENABLE_STATS turns on run counts until closed', async () => {
    using prog = KernelProgram.load({ type: 'RAW_TRACEPOINT', instructions: returns(0) });
    using link = attachRawTracepoint(prog, 'sys_enter');
    {
      using stats = enableRunTimeStats();
      expect(stats.fd).toBeGreaterThan(2);
      await sleep(20);
      expect(prog.info().runCount).toBeGreaterThan(0);
    }
    void link;
  });
});
