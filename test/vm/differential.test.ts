/**
 * The vm against the kernel: every test-runnable program of the vm fixtures runs on both
 * backends over many generated packets, and the return values, output packets, output
 * contexts and map contents must be identical. Needs bpf() (root); under CI=true it must run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BpfMap, Collection, TestRunOptions } from '../../src/api/types.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { createVmCollection } from '../../src/vm/collection.js';
import { compileBpf, haveClang, inCI } from '../support/clang.js';

async function kernelLoader(): Promise<((spec: ObjectSpec) => Collection) | undefined> {
  try {
    const { loadCollection } = await import('../../src/kernel/collection.js');
    // Probe: can this process load a trivial object?
    return loadCollection;
  } catch (e) {
    if (inCI) throw e;
    return undefined;
  }
}

/** Deterministic packets: IPv4/IPv6 TCP/UDP/ICMP, ARP, short and random frames. */
function packets(count: number): Uint8Array[] {
  let s = 0x1234567;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const byte = () => Math.floor(rand() * 256);
  const out: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const kind = n % 8;
    const payload = Math.floor(rand() * 80);
    let f: Uint8Array;
    if (kind <= 3) {
      const l4 = [6, 17, 1, 6][kind]!;
      const l4len = l4 === 6 ? 20 : 8;
      f = new Uint8Array(14 + 20 + l4len + payload).map(byte);
      f[12] = 0x08;
      f[13] = 0x00;
      f[14] = 0x45;
      f[16] = (f.length - 14) >> 8;
      f[17] = (f.length - 14) & 0xff;
      f[22] = n % 5 === 0 ? 0 : byte(); // ttl, sometimes 0
      f[23] = l4;
      if (l4 === 17 && n % 3 === 0) {
        f[36] = 0;
        f[37] = 53;
      }
      if (n % 4 === 0) f.fill(0, 0, 6);
      if (n % 7 === 0) f.fill(0xff, 0, 6);
    } else if (kind === 4) {
      f = new Uint8Array(14 + 40 + 8 + payload).map(byte);
      f[12] = 0x86;
      f[13] = 0xdd;
      f[14 + 6] = n % 2 ? 17 : 6;
    } else if (kind === 5) {
      f = new Uint8Array(42).map(byte);
      f[12] = 0x08;
      f[13] = 0x06;
    } else if (kind === 6) {
      f = new Uint8Array(14 + Math.floor(rand() * 20)).map(byte);
      f[12] = 0x08;
      f[13] = 0x00;
    } else {
      f = new Uint8Array(14 + payload).map(byte);
    }
    out.push(f);
  }
  return out;
}

function mapContents(m: BpfMap): string[] {
  return [...m.entries()].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`).sort();
}

const kernel = await kernelLoader();

describe.skipIf(!haveClang('v3') || (kernel === undefined && !inCI))('differential: vm and kernel agree', () => {
  const cases: { object: string; programs: string[]; ctx?: boolean; maps: string[] }[] = [
    { object: 'test/fixtures/vm/differential.c', programs: ['xdp_parse', 'tc_rewrite', 'sock_tcp'], maps: ['by_proto', 'fields', 'ports'] },
    { object: 'test/fixtures/vm/programs.c', programs: ['xdp_count', 'xdp_pop_eth'], maps: ['counts', '.bss', '.data'] },
  ];
  for (const c of cases) {
    it(`${c.object}: ${c.programs.join(', ')}`, () => {
      const spec = loadObjectSpec(readFileSync(compileBpf(c.object, { cpu: 'v3' })));
      let k: Collection;
      try {
        k = kernel!(spec);
      } catch (e) {
        if (inCI) throw e;
        if (/EPERM|needs root|CAP_BPF/.test(String(e))) return;
        throw e;
      }
      using kc = k;
      // Both vm tiers run beside the kernel.
      using vc = createVmCollection(spec);
      using vj = createVmCollection(spec, { tier: 'js' });
      let compared = 0;
      for (const data of packets(400)) {
        for (const name of c.programs) {
          const opts: TestRunOptions = { data, ...(name.startsWith('tc_') ? { ctx: new Uint8Array(192) } : {}) };
          let kr;
          try {
            kr = kc.program(name).testRun(opts);
          } catch (e) {
            // The kernel refuses frames shorter than an Ethernet header; so must the vm.
            expect(() => vc.program(name).testRun(opts), `${name} on ${Buffer.from(data).toString('hex')}: kernel said ${String(e)}`).toThrow();
            expect(() => vj.program(name).testRun(opts)).toThrow();
            void e;
            continue;
          }
          const vr = vc.program(name).testRun(opts);
          const jr = vj.program(name).testRun(opts);
          const where = `${name} on ${Buffer.from(data).toString('hex')}`;
          expect([jr.retval, Buffer.from(jr.data).toString('hex')], `js tier: ${where}`).toEqual([vr.retval, Buffer.from(vr.data).toString('hex')]);
          expect(vr.retval, where).toBe(kr.retval);
          expect(Buffer.from(vr.data).toString('hex'), where).toBe(Buffer.from(kr.data).toString('hex'));
          if (kr.ctx !== undefined) expect(Buffer.from(vr.ctx!).toString('hex'), where).toBe(Buffer.from(kr.ctx).toString('hex'));
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(300);
      for (const m of c.maps) {
        expect(mapContents(vc.map(m)), `map ${m}`).toEqual(mapContents(kc.map(m)));
        expect(mapContents(vj.map(m)), `map ${m} (js tier)`).toEqual(mapContents(kc.map(m)));
      }
    });
  }
});
