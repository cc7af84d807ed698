import { expect, it } from 'vitest';
import { helperId } from '../../src/uapi/helpers.js';
import { minimalMapOptions, probeFeatures, probeHelper, probeMapType, probeProgramType } from '../../src/kernel/features.js';
import type { MapTypeName } from '../../src/uapi/index.js';
import { describeKernel, openFdCount } from './support.js';

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

  it('probeFeatures lists it all and leaks nothing', () => {
    const before = openFdCount();
    const features = probeFeatures({ helpers: false });
    expect(features.programTypes.XDP).toBe(true);
    expect(features.mapTypes.RINGBUF).toBe(true);
    expect(Object.keys(features.mapTypes)).toHaveLength(33);
    expect(openFdCount()).toBe(before);
  });
});
