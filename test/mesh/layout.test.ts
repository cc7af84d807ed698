/**
 * src/mesh/layout.ts mirrors bpf/mesh/mesh.h byte for byte: every size and offset is
 * checked against the BTF of the committed bpf/mesh/mesh.o, and the counter count
 * against mesh_stats (clang emits no BTF for enum mesh_stat: only its values are used).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { compileBpf, haveClang } from '../support/clang.js';
import { Btf } from '../../src/btf/btf.js';
import type { CompositeType } from '../../src/btf/types.js';
import { MESH_STATS, MeshCidrKeyLayout, MeshConfigLayout, MeshConnLayout, MeshScanRecordLayout } from '../../src/mesh/layout.js';
import { meshObjectSpec } from '../../src/mesh/object.js';

const spec = meshObjectSpec();
const btf = Btf.parse(spec.btfData!, { endian: spec.endian });
/** struct mesh_scan_record lives only on mesh.o's stack (no BTF there): read it from a fixture including mesh.h. */
const anchorSpec = () => loadObjectSpec(new Uint8Array(readFileSync(compileBpf('test/mesh/fixtures/scan-record-btf.c'))));

function struct(name: string, from: Btf = btf): { size: number; offsets: Record<string, number> } {
  const t = from.findByName(name, 'struct') as CompositeType;
  return { size: t.size, offsets: Object.fromEntries(t.members.map((m) => [m.name, m.bitOffset / 8])) };
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Every layout field (but size) is a struct member of the camel-cased name, at the same offset. */
function expectMirror(layout: Record<string, number>, cName: string, from: Btf = btf): void {
  const s = struct(cName, from);
  expect(layout.size, `${cName} size`).toBe(s.size);
  const byCamel = Object.fromEntries(Object.entries(s.offsets).map(([k, v]) => [camel(k), v]));
  for (const [field, offset] of Object.entries(layout)) if (field !== 'size') expect(offset, `${cName}.${field}`).toBe(byCamel[field]);
}

describe('mesh layout mirrors mesh.h (BTF of mesh.o)', () => {
  it('struct mesh_conn', () => expectMirror(MeshConnLayout, 'mesh_conn'));
  it('struct mesh_config', () => expectMirror(MeshConfigLayout, 'mesh_config'));
  it.runIf(haveClang())('struct mesh_scan_record', () => {
    const anchor = anchorSpec();
    expectMirror(MeshScanRecordLayout, 'mesh_scan_record', Btf.parse(anchor.btfData!, { endian: anchor.endian }));
  });
  it('struct mesh_cidr_key', () => expectMirror(MeshCidrKeyLayout, 'mesh_cidr_key'));
  it('mesh_stats has a slot for every counter name, and its fixed size (MESH_STAT_SLOTS) keeps pinned maps reusable', () => {
    expect(spec.maps.find((m) => m.name === 'mesh_stats')!.maxEntries).toBe(32);
    expect(MESH_STATS.length).toBeLessThanOrEqual(32);
  });
});
