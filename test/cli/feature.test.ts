/** `bpfkit feature` against `bpftool feature probe kernel`. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachSupport, helperGapLines, helperGapsByType } from '../../src/cli/feature.js';
import type { KernelFeatures } from '../../src/kernel/features.js';
import { describeKernel } from '../kernel/support.js';
import { bpfkit, bpfkitJson, bpftool } from './support.js';

/** Program types bpftool 7.1 (libbpf 1.1) cannot probe: their minimal program needs an attach target, so it reports them absent. */
const BPFTOOL_BLIND = new Set(['tracing', 'ext', 'lsm']);

describe('attach types from program types and kernel options', () => {
  const features = (programTypes: Record<string, boolean>): KernelFeatures => ({ programTypes, mapTypes: {}, helpers: {} });

  it('needs the program type and the hook\'s kernel options', () => {
    const all = { KPROBE: true, SCHED_CLS: true, XDP: true };
    const config = new Map([['CONFIG_UPROBES', 'y'], ['CONFIG_NET_XGRESS', 'y']]);
    const rows = attachSupport(features(all), config);
    const row = (name: string) => rows.find((r) => r.attachType === name)!;
    expect(row('trace_uprobe_multi')).toEqual({ attachType: 'trace_uprobe_multi', programType: 'kprobe', linkType: 'uprobe_multi', supported: true });
    expect(row('trace_kprobe_multi')).toMatchObject({ supported: false, missing: 'CONFIG_FPROBE' });
    expect(row('tcx_ingress')).toMatchObject({ supported: true, linkType: 'tcx' });
    expect(row('xdp_devmap')).toMatchObject({ supported: true, linkType: null });
    expect(row('cgroup_sock_ops')).toMatchObject({ supported: false, missing: 'program type sock_ops' });
    // Without a published kernel config, the program type decides.
    expect(attachSupport(features(all), new Map()).find((r) => r.attachType === 'trace_kprobe_multi')!.supported).toBe(true);
  });
});

describe('helpers that could not be probed', () => {
  const features: KernelFeatures = {
    programTypes: { XDP: true, TRACING: true, EXT: true },
    mapTypes: {},
    helpers: { XDP: ['bpf_redirect'], TRACING: ['bpf_ktime_get_ns'] },
    helpersUnknown: { TRACING: ['bpf_skb_load_bytes', 'bpf_get_func_arg'] },
    helperGaps: { TRACING: ['fentry/fexit/fmod_ret: refused here'], EXT: ['ext: needs another BPF program'] },
  };

  it('lists, per program type, the unprobed helpers and why; a type never asked has none listed, not an empty list', () => {
    expect(helperGapsByType(features)).toEqual([
      { programType: 'tracing', unknown: ['bpf_skb_load_bytes', 'bpf_get_func_arg'], reasons: ['fentry/fexit/fmod_ret: refused here'] },
      { programType: 'ext', unknown: null, reasons: ['ext: needs another BPF program'] },
    ]);
    expect(helperGapsByType({ ...features, helpersUnknown: {}, helperGaps: {} })).toEqual([]);
  });

  it('prints counts and reasons, and the names with --helpers', () => {
    const short = helperGapLines(features, false);
    expect(short).toEqual([
      '',
      'helpers not probed (the kernel could not be asked; neither supported nor unsupported):',
      '  tracing: 2 helpers',
      '    why: fentry/fexit/fmod_ret: refused here',
      '  ext: all helpers',
      '    why: ext: needs another BPF program',
    ]);
    expect(helperGapLines(features, true)).toEqual([...short.slice(0, 4), '    bpf_skb_load_bytes, bpf_get_func_arg', ...short.slice(4)]);
    // Nothing to say when the kernel answered everything.
    expect(helperGapLines({ ...features, helpersUnknown: undefined, helperGaps: undefined }, true)).toEqual([]);
  });
});

describeKernel('bpfkit feature, judged by bpftool feature probe', () => {
  it('program types, map types and helpers agree with bpftool', async () => {
    const mine = await bpfkitJson<{ programTypes: Record<string, boolean>; mapTypes: Record<string, boolean>; helpers: Record<string, string[]>; attachTypes: Array<{ attachType: string; supported: boolean }>; linkTypes: Record<string, boolean> }>('feature');
    const judge = bpftool<{ program_types: Record<string, boolean>; map_types: Record<string, boolean>; helpers: Record<string, string[]> }>('feature', 'probe', 'kernel');
    let compared = 0;
    for (const [key, have] of Object.entries(judge.program_types)) {
      const name = key.replace(/^have_/, '').replace(/_prog_type$/, '');
      expect(name in mine.programTypes, name).toBe(true);
      if (BPFTOOL_BLIND.has(name)) expect(mine.programTypes[name], name).toBe(true);
      else expect(mine.programTypes[name], name).toBe(have);
      compared++;
    }
    for (const [key, have] of Object.entries(judge.map_types)) {
      const name = key.replace(/^have_/, '').replace(/_map_type$/, '');
      expect(mine.mapTypes[name], name).toBe(have);
      compared++;
    }
    expect(compared).toBeGreaterThan(55);
    // libbpf 1.1 reads "unknown func" from the log, which this kernel words differently,
    // so bpftool lists helpers the verifier refuses: ours must be a subset of its lists.
    for (const [type, helpers] of Object.entries(mine.helpers)) {
      const theirs = new Set(judge.helpers[`${type}_available_helpers`] ?? []);
      expect(helpers.filter((h) => theirs.size > 0 && !theirs.has(h) && Object.values(judge.helpers).some((l) => l.includes(h))), type).toEqual([]);
    }
    expect(mine.helpers.xdp).toContain('bpf_xdp_adjust_head');
    expect(mine.helpers.xdp).not.toContain('bpf_skb_load_bytes');
    expect(mine.helpers.socket_filter).toContain('bpf_skb_load_bytes');
    // This machine: no fprobes, no netkit; tcx and uprobe_multi are there.
    const attach = (name: string) => mine.attachTypes.find((a) => a.attachType === name)!.supported;
    expect([attach('trace_kprobe_multi'), attach('netkit_primary'), attach('tcx_ingress'), attach('trace_uprobe_multi'), attach('cgroup_sock_ops')]).toEqual([false, false, true, true, true]);
    expect(mine.linkTypes).toMatchObject({ kprobe_multi: false, tcx: true, cgroup: true, sockmap: true });
  });

  it('reports the helpers it could not probe, and why, in --json and in text', async () => {
    const mine = await bpfkitJson<{ helpers: Record<string, string[]>; helpersUnknown: Record<string, string[] | null>; helperGaps: Record<string, string[]> }>('feature');
    // Every type with unprobed helpers says why, and no helper is both known and unknown.
    expect(Object.keys(mine.helpersUnknown)).toEqual(Object.keys(mine.helperGaps));
    for (const [type, unknown] of Object.entries(mine.helpersUnknown)) {
      expect(mine.helperGaps[type]!.length, type).toBeGreaterThan(0);
      if (unknown === null) expect(mine.helpers[type], type).toBeUndefined();
      else expect(unknown.filter((h) => mine.helpers[type]!.includes(h)), type).toEqual([]);
    }
    // This machine: struct_ops types other than tcp_congestion_ops are never probed, and
    // freplace (ext) needs a target program, so both always have gaps here.
    expect(mine.helperGaps.struct_ops!.length).toBeGreaterThan(0);
    expect(mine.helpersUnknown.struct_ops!.length).toBeGreaterThan(0);
    expect(mine.helpersUnknown.ext).toBeNull();
    const text = (await bpfkit('feature', '--helpers')).stdout;
    for (const [type, unknown] of Object.entries(mine.helpersUnknown)) {
      expect(text, type).toContain(`\n  ${type}: ${unknown === null ? 'all helpers' : `${unknown.length} helpers`}\n    why: ${mine.helperGaps[type]![0]}\n`);
    }
    expect(text).toContain(mine.helpersUnknown.struct_ops![0]);
  });

  it('without privileges: exit 1 and the capability it needs, not an empty list', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', join(import.meta.dirname, 'entry.ts'), 'feature'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^bpfkit feature: MAP_CREATE .*EPERM — needs root or CAP_BPF/);
  });

  it('prints tables, and --help', async () => {
    const r = await bpfkit('feature');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^program types: \d+ of \d+ supported$/m);
    expect(r.stdout).toMatch(/^ {2}ATTACH TYPE\s+PROGRAM TYPE\s+LINK\s+SUPPORTED$/m);
    expect(r.stdout).toMatch(/^ {2}trace_kprobe_multi\s+kprobe\s+kprobe_multi\s+no \(needs CONFIG_FPROBE\)$/m);
    expect((await bpfkit('feature', '--help')).stdout).toMatch(/^usage: bpfkit feature \[--json\]/);
    expect((await bpfkit('feature', 'probe')).code).toBe(2);
  });
});
