/**
 * The unified entry (src/load.ts): the same object through both backends by one call,
 * with identical test runs and map contents; and the vm path never pulls in the kernel.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BpfMap, Collection } from '../../src/api/types.js';
import { loadObject } from '../../src/index.js';
import { compileBpf, repoRoot } from '../support/clang.js';
import { describeKernel } from '../kernel/support.js';

const object = () => readFileSync(compileBpf('test/fixtures/vm/differential.c', { cpu: 'v3' }));

/** IPv4 UDP to `port` (DNS is dropped by xdp_parse), IPv4 TCP, and ARP. */
function packets(): Uint8Array[] {
  const udp = (port: number) => {
    const f = new Uint8Array(14 + 20 + 8 + 12);
    f.set([0x08, 0x00], 12);
    f.set([0x45, 0, 0, f.length - 14, 0, 0, 0, 0, 64, 17], 14);
    f.set([0x12, 0x34, port >> 8, port & 0xff], 34);
    return f;
  };
  const tcp = new Uint8Array(14 + 20 + 20 + 5).map((_, i) => (i * 7) & 0xff);
  tcp.set([0x08, 0x00], 12);
  tcp.set([0x45, 0, 0, tcp.length - 14, 0, 0, 0x40, 0, 64, 6], 14);
  tcp[46] = 0x50;
  const arp = new Uint8Array(42).fill(0xab);
  arp.set([0x08, 0x06], 12);
  return [udp(53), udp(8080), tcp, arp, udp(8080)];
}

const contents = (m: BpfMap) => [...m.entries()].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`).sort();

function exercise(coll: Collection): { runs: unknown[]; maps: Record<string, string[]> } {
  const runs = [];
  for (const data of packets()) {
    for (const name of ['xdp_parse', 'sock_tcp', 'tc_rewrite']) {
      const r = coll.program(name).testRun({ data });
      runs.push({ name, retval: r.retval, data: Buffer.from(r.data).toString('hex') });
    }
  }
  const maps = Object.fromEntries([...coll.maps.keys()].sort().map((n) => [n, contents(coll.map(n))]));
  return { runs, maps };
}

describe('loadObject / loadCollection (vm)', () => {
  it('loads an object into the vm through the unified entry', async () => {
    await using coll = await loadObject(object(), { backend: 'vm' });
    expect(coll.backend).toBe('vm');
    const { runs, maps } = exercise(coll);
    expect(runs[0]).toMatchObject({ name: 'xdp_parse', retval: 1 }); // XDP_DROP for DNS
    expect(maps.ports).toHaveLength(2); // ports 53 and 8080
  });

  it('rejects an unknown backend', async () => {
    await expect(loadObject(object(), { backend: 'wasm' } as never)).rejects.toThrow(/unknown backend wasm/);
  });

  it("the vm path's static imports never reach src/kernel or node: modules", () => {
    // Walk the static (non-type) imports from src/load.ts; the kernel may only be a dynamic import.
    const seen = new Set<string>();
    const offending: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      if (file.includes('/src/kernel/')) offending.push(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) offending.push(`${file} imports ${spec}`);
        if (!spec.startsWith('.')) continue;
        const ts = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        walk(existsSync(ts) ? ts : resolve(dirname(file), spec.replace(/\.js$/, '/index.ts')));
      }
    };
    walk(join(repoRoot, 'src/load.ts'));
    expect(seen.size).toBeGreaterThan(20);
    expect([...seen].some((f) => f.endsWith('src/vm/collection.ts'))).toBe(true);
    expect(offending).toEqual([]);
  });
});

describeKernel('loadObject / loadCollection (kernel and vm)', () => {
  it('the same object through both backends gives the same runs and map contents', async () => {
    const bytes = object();
    await using kernel = await loadObject(bytes, { backend: 'kernel' });
    await using vm = await loadObject(bytes, { backend: 'vm' });
    expect(kernel.backend).toBe('kernel');
    const k = exercise(kernel);
    const v = exercise(vm);
    expect(v.runs).toEqual(k.runs);
    expect(v.maps).toEqual(k.maps);
    expect(k.maps.by_proto!.length).toBeGreaterThan(0);
  });
});
