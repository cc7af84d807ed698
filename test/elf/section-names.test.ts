import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, decodeSectionName } from '../../src/elf/section-names.js';
import { SECTION_DEFS } from '../../src/elf/section-table.js';
import { AttachType } from '../../src/uapi/attach-types.js';
import { ProgType } from '../../src/uapi/prog-types.js';
import { compileHost } from './host.js';

/** Section names: every table pattern bare and with extras, plus near misses. */
const names = new Set<string>();
for (const def of SECTION_DEFS) {
  const stem = def.pattern.replace(/[+/]$/, '');
  names.add(stem);
  names.add(`${stem}/some_target`);
  names.add(`${stem}x`);
}
for (const n of ['tracepoint/syscalls/sys_enter_openat', 'uprobe//bin/bash:readline', 'usdt/libc.so.6:libc:setjmp', 'sk_skb/stream_parserx', 'xdp.frags/devmapx', 'cgroup/sock_create', 'kprobe', 'fentry', '']) {
  names.add(n);
}

interface LibbpfAnswer {
  name: string;
  known: boolean;
  type: number;
  attach: number;
}

function libbpfAnswers(list: string[]): LibbpfAnswer[] {
  const tool = compileHost('test/fixtures/elf/libbpf_sec.c', { libs: ['-lbpf'] });
  return execFileSync(tool, list, { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LibbpfAnswer);
}

/**
 * Sections libbpf 1.1 (the one installed) does not know yet but libbpf 1.5 does, with what
 * libbpf 1.5's program_types table says about them.
 */
const NEWER_THAN_INSTALLED: Record<string, [number, number]> = {
  'kprobe.session': [ProgType.KPROBE, AttachType.TRACE_KPROBE_SESSION],
  'uprobe.multi': [ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI],
  'uretprobe.multi': [ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI],
  'uprobe.multi.s': [ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI],
  'uretprobe.multi.s': [ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI],
  'usdt.s': [ProgType.KPROBE, 0],
  'tc/ingress': [ProgType.SCHED_CLS, AttachType.TCX_INGRESS],
  'tc/egress': [ProgType.SCHED_CLS, AttachType.TCX_EGRESS],
  'tcx/ingress': [ProgType.SCHED_CLS, AttachType.TCX_INGRESS],
  'tcx/egress': [ProgType.SCHED_CLS, AttachType.TCX_EGRESS],
  'netkit/primary': [ProgType.SCHED_CLS, AttachType.NETKIT_PRIMARY],
  'netkit/peer': [ProgType.SCHED_CLS, AttachType.NETKIT_PEER],
  'cgroup/connect_unix': [ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_CONNECT],
  'cgroup/sendmsg_unix': [ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_SENDMSG],
  'cgroup/recvmsg_unix': [ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_RECVMSG],
  'cgroup/getpeername_unix': [ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_GETPEERNAME],
  'cgroup/getsockname_unix': [ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UNIX_GETSOCKNAME],
  'struct_ops.s': [ProgType.STRUCT_OPS, 0],
  netfilter: [ProgType.NETFILTER, AttachType.NETFILTER],
};

function newerEntry(name: string): [number, number] | undefined {
  for (const [stem, v] of Object.entries(NEWER_THAN_INSTALLED)) {
    const plus = SECTION_DEFS.find((d) => d.pattern === `${stem}+`);
    if (name === stem || (plus && name.startsWith(`${stem}/`))) return v;
  }
  return undefined;
}

describe('decodeSectionName', () => {
  const list = [...names].filter((n) => n !== '');
  const answers = libbpfAnswers(list);

  it('agrees with the installed libbpf on every name it knows', () => {
    let compared = 0;
    for (const a of answers) {
      if (newerEntry(a.name)) continue;
      const mine = decodeSectionName(a.name);
      expect({ name: a.name, known: mine !== undefined }).toEqual({ name: a.name, known: a.known });
      if (!a.known) continue;
      expect({ name: a.name, type: mine!.progType, attach: mine!.expectedAttachType ?? 0 }).toEqual({ name: a.name, type: a.type, attach: a.attach });
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('knows the sections libbpf 1.5 added since', () => {
    for (const a of answers) {
      const v = newerEntry(a.name);
      if (!v) continue;
      const mine = decodeSectionName(a.name);
      expect(mine, a.name).toBeDefined();
      expect([mine!.progType, mine!.expectedAttachType ?? 0], a.name).toEqual(v);
    }
  });

  it('sets sleepable and frags flags from the .s and .frags forms', () => {
    for (const n of list) {
      const info = decodeSectionName(n);
      if (!info) continue;
      const stem = info.def.pattern.replace(/[+/]$/, '');
      const sleepable = /\.s$/.test(stem.split('/')[0]!) || stem === 'syscall';
      expect((info.flags & BPF_F_SLEEPABLE) !== 0, n).toBe(sleepable);
      expect((info.flags & BPF_F_XDP_HAS_FRAGS) !== 0, n).toBe(stem.startsWith('xdp.frags'));
    }
  });

  it('takes the text after "type/" as the attach target', () => {
    expect(decodeSectionName('tracepoint/syscalls/sys_enter_openat')!.attachTarget).toBe('syscalls/sys_enter_openat');
    expect(decodeSectionName('uprobe//bin/bash:readline')!.attachTarget).toBe('/bin/bash:readline');
    expect(decodeSectionName('usdt/libc.so.6:libc:setjmp')!.attachTarget).toBe('libc.so.6:libc:setjmp');
    expect(decodeSectionName('fentry')!.attachTarget).toBeUndefined();
    expect(decodeSectionName('fentry')!.autoAttach).toBe(false);
    expect(decodeSectionName('fentry/x')!.autoAttach).toBe(true);
    expect(decodeSectionName('xdp')!.autoAttach).toBe(false);
  });
});
