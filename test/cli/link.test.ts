/**
 * `bpfkit link` against bpftool, on a cgroup link this test makes in a child cgroup of
 * its own: listed and shown as bpftool shows it, pinned, and detached (with its effect gone).
 */
import { describe, expect, it } from 'vitest';
import { ProgramBuilder, R0 } from '../../src/isa/index.js';
import { attachCgroup } from '../../src/kernel/attach.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { AttachType } from '../../src/uapi/index.js';
import { describeKernel, runInCgroup, scratchCgroup } from '../kernel/support.js';
import { bpfkit, bpfkitJson, bpftool, pinDir, pinned } from './support.js';

const send = `python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b'x', ('127.0.0.1', 9)); print('sent')
except PermissionError: print('refused')"`;

describe('bpfkit link: usage', () => {
  it('has --help and refuses bad usage with exit code 2', async () => {
    expect((await bpfkit('link', '--help')).stdout).toMatch(/^usage: bpfkit link list \[--json\]/);
    for (const args of [['link'], ['link', 'list', '--all'], ['link', 'show'], ['link', 'detach', 'id'], ['link', 'pin', '3']]) {
      const r = await bpfkit(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: bpfkit link/);
    }
  });
});

describeKernel('bpfkit link, judged by bpftool', () => {
  it('lists, shows, pins and detaches a cgroup link', async () => {
    const cgroup = scratchCgroup();
    const dir = pinDir('link');
    // Drops every egress packet of the cgroup: sendto() fails with EPERM while attached.
    using program = KernelProgram.load({ type: 'CGROUP_SKB', name: 'cli_drop', expectedAttachType: AttachType.CGROUP_INET_EGRESS, instructions: new ProgramBuilder().mov64(R0, 0).exit().build() });
    const link = attachCgroup(program, cgroup.path);
    try {
      const id = link.info().id;
      const programId = program.info().id;
      expect(runInCgroup(cgroup.path, send)).toMatch(/refused/);

      const judge = bpftool('link', 'show', 'id', String(id));
      const expected = { id, type: judge.type, programId: judge.prog_id, programName: 'cli_drop', attachType: judge.attach_type, target: `cgroup ${judge.cgroup_id}` };
      expect(expected).toMatchObject({ type: 'cgroup', programId, attachType: 'cgroup_inet_egress' });
      expect(await bpfkitJson('link', 'show', String(id))).toEqual(expected);
      const list = await bpfkitJson<Array<{ id: number }>>('link', 'list');
      expect(list.find((l) => l.id === id)).toEqual(expected);
      expect(list.map((l) => l.id).sort((a, b) => a - b)).toEqual(
        bpftool<Array<{ id: number }>>('link', 'show')
          .map((l) => l.id)
          .filter((l) => list.some((m) => m.id === l))
          .sort((a, b) => a - b),
      );
      const text = await bpfkit('link', 'list');
      expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+ATTACH\s+TARGET\s+PROG$/);
      expect(text.stdout).toMatch(new RegExp(`^${id}\\s+cgroup\\s+cgroup_inet_egress\\s+cgroup ${judge.cgroup_id}\\s+${programId} cli_drop$`, 'm'));

      expect((await bpfkit('link', 'pin', String(id), pinned(dir, 'link'))).code).toBe(0);
      expect(bpftool('link', 'show', 'pinned', pinned(dir, 'link')).id).toBe(id);
      expect((await bpfkitJson('link', 'show', pinned(dir, 'link'))).id).toBe(id);

      // Detach through the pin: the program stops running though the link object lives on.
      expect((await bpfkit('link', 'detach', 'pinned', pinned(dir, 'link'))).code).toBe(0);
      expect(runInCgroup(cgroup.path, send)).toMatch(/sent/);
      expect(bpftool('link', 'show', 'id', String(id)).cgroup_id).toBe(0);
      expect((await bpfkitJson('link', 'show', String(id))).target).toBe('cgroup 0');
    } finally {
      link.close();
      dir.remove();
      cgroup.remove();
    }
  });

  it('errors: unknown id, a pin that holds a program', async () => {
    expect(await bpfkit('link', 'show', '4294967295')).toMatchObject({ code: 1, stderr: 'bpfkit link: no link with id 4294967295\n' });
    const dir = pinDir('link-errors');
    try {
      using program = KernelProgram.load({ type: 'SOCKET_FILTER', instructions: new ProgramBuilder().mov64(R0, 0).exit().build() });
      program.pin(pinned(dir, 'prog'));
      expect(await bpfkit('link', 'detach', pinned(dir, 'prog'))).toMatchObject({ code: 1, stderr: `bpfkit link: ${pinned(dir, 'prog')} holds bpf-prog, not a link\n` });
    } finally {
      dir.remove();
    }
  });
});
