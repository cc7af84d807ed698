import { expect, it } from 'vitest';
import { helperId } from '../../src/uapi/helpers.js';
import { minimalMapOptions, probeFeatures, probeHelper, probeMapType, probeProgramType } from '../../src/kernel/features.js';
import type { MapTypeName } from '../../src/uapi/index.js';
import { describeKernel, openFdCount, trampolinesRefused } from './support.js';

describeKernel('feature probes', () => {
  it('program types', () => {
    for (const t of ['SOCKET_FILTER', 'XDP', 'SCHED_CLS', 'CGROUP_SOCK_ADDR', 'SK_LOOKUP', 'NETFILTER', 'TRACING', 'LSM', 'SYSCALL'] as const) {
      expect(probeProgramType(t), t).toBe(true);
    }
    expect(probeProgramType(999)).toBe(false);
  });

  it('map types', () => {
    for (const t of Object.keys(minimalMapOptions) as MapTypeName[]) expect(probeMapType(t), t).toBe(true);
    expect(probeMapType('STRUCT_OPS')).toBe(true);
  });

  it('helpers per program type', () => {
    expect(probeHelper('XDP', helperId('bpf_map_lookup_elem')!)).toBe(true);
    expect(probeHelper('SOCKET_FILTER', helperId('bpf_ringbuf_output')!)).toBe(true);
    expect(probeHelper('XDP', helperId('bpf_skb_vlan_push')!)).toBe(false);
    expect(probeHelper('SK_MSG', helperId('bpf_msg_redirect_hash')!)).toBe(true);
    expect(probeHelper('XDP', helperId('bpf_msg_redirect_hash')!)).toBe(false);
    expect(probeHelper('XDP', 9999)).toBe(false);
  });

  it('helpers of types that need an attach target: probed against real targets, unknown (never supported) where the kernel will not load them', () => {
    const before = openFdCount();
    const types = ['TRACING', 'LSM', 'EXT', 'STRUCT_OPS'] as const;
    const f = probeFeatures({ helperTypes: types });
    const known = (t: string) => f.helpers[t] ?? [];
    const unknown = (t: string) => f.helpersUnknown?.[t] ?? [];
    // tp_btf and iterators load everywhere BTF does: their helpers are answered by the kernel.
    expect(known('TRACING')).toContain('bpf_get_current_pid_tgid');
    expect(known('TRACING')).toContain('bpf_seq_printf');
    expect(probeHelper('TRACING', helperId('bpf_seq_printf')!)).toBe(true);
    expect(known('STRUCT_OPS')).toContain('bpf_get_current_pid_tgid');
    expect(probeHelper('STRUCT_OPS', 9999)).not.toBe(true);
    expect(probeHelper('TRACING', 9999)).not.toBe(true);
    for (const t of types) {
      // A helper is either known or unknown, never both, and a bogus id is never supported.
      expect(known(t).filter((h) => unknown(t).includes(h)), t).toEqual([]);
      expect(known(t).some((h) => h.startsWith('helper ')), t).toBe(false);
      const gaps = f.helperGaps?.[t] ?? [];
      // Unknowns come with the reason, and a type whose every flavour is refused lists no helpers.
      if (unknown(t).length > 0 || f.helpers[t] === undefined) expect(gaps.length, t).toBeGreaterThan(0);
      if (f.helpers[t] === undefined) expect(probeHelper(t, helperId('bpf_get_current_pid_tgid')!), t).toBeUndefined();
    }
    // fentry-only helpers: supported where fentry loads, otherwise unknown with the refusal named.
    const funcArg = probeHelper('TRACING', helperId('bpf_get_func_arg')!);
    expect(funcArg === true, 'fentry probes load exactly where trampolines are allowed').toBe(!trampolinesRefused);
    if (funcArg === true) expect(known('TRACING')).toContain('bpf_get_func_arg');
    else {
      expect(funcArg).toBeUndefined();
      expect(unknown('TRACING')).toContain('bpf_get_func_arg');
      expect(f.helperGaps?.TRACING?.join('\n')).toMatch(/fentry.*refuses/);
    }
    // ext needs a target program: nothing is claimed.
    expect(f.helpers.EXT).toBeUndefined();
    expect(f.helperGaps?.EXT?.join('\n')).toMatch(/target/);
    expect(openFdCount()).toBe(before);
  });

  it('probeFeatures lists it all and leaks nothing', () => {
    const before = openFdCount();
    const features = probeFeatures({ helpers: false });
    expect(features.programTypes.XDP).toBe(true);
    expect(features.mapTypes.RINGBUF).toBe(true);
    expect(Object.keys(features.mapTypes)).toHaveLength(33);
    expect(openFdCount()).toBe(before);
  });
});
