/**
 * src/mesh/layout.ts mirrors bpf/mesh/mesh.h byte for byte: every size and offset is
 * checked against the BTF of the committed bpf/mesh/mesh.o, and the counter count
 * against mesh_stats (clang emits no BTF for enum mesh_stat: only its values are used).
 */
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import type { CompositeType } from '../../src/btf/types.js';
import { MESH_STATS, MeshCidrKeyLayout, MeshConfigLayout, MeshConnLayout, MeshConnStatsLayout } from '../../src/mesh/layout.js';
import { meshObjectSpec } from '../../src/mesh/object.js';

const spec = meshObjectSpec();
const btf = Btf.parse(spec.btfData!, { endian: spec.endian });

function struct(name: string): { size: number; offsets: Record<string, number> } {
  const t = btf.findByName(name, 'struct') as CompositeType;
  return { size: t.size, offsets: Object.fromEntries(t.members.map((m) => [m.name, m.bitOffset / 8])) };
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Every layout field (but size) is a struct member of the camel-cased name, at the same offset. */
function expectMirror(layout: Record<string, number>, cName: string, renames: Record<string, string> = {}): void {
  const s = struct(cName);
  expect(layout.size, `${cName} size`).toBe(s.size);
  const byCamel = Object.fromEntries(Object.entries(s.offsets).map(([k, v]) => [renames[k] ?? camel(k), v]));
  for (const [field, offset] of Object.entries(layout)) if (field !== 'size') expect(offset, `${cName}.${field}`).toBe(byCamel[field]);
}

describe('mesh layout mirrors mesh.h (BTF of mesh.o)', () => {
  it('struct mesh_conn', () => expectMirror(MeshConnLayout, 'mesh_conn'));
  it('struct mesh_config', () => expectMirror(MeshConfigLayout, 'mesh_config'));
  it('struct mesh_conn_stats', () => expectMirror(MeshConnStatsLayout, 'mesh_conn_stats'));
  it('struct mesh_cidr_key', () => expectMirror(MeshCidrKeyLayout, 'mesh_cidr_key'));
  it('one counter name per mesh_stats slot (enum mesh_stat up to MESH_STAT_MAX)', () => {
    expect(spec.maps.find((m) => m.name === 'mesh_stats')!.maxEntries).toBe(MESH_STATS.length);
  });
});
