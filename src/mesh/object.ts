/**
 * The shipped eBPF object of the bypass (bpf/mesh/mesh.o, committed so users need no
 * clang), parsed once by the ELF layer.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadObjectSpec } from '../elf/load-object.js';
import type { ObjectSpec } from '../elf/object-spec.js';

/** Names of the programs and maps the agent relies on. */
export const MeshPrograms = { sockops: 'mesh_sockops', redirect: 'mesh_redirect', skbVerdict: 'mesh_skb_verdict' } as const;

/** bpf/mesh/mesh.o at the package root: src/mesh and dist/mesh are both two levels down. */
export function meshObjectPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bpf', 'mesh', 'mesh.o');
}

/**
 * The object spec of mesh.o. `pinned: false` gives a private copy whose maps are never
 * pinned (the startup probe's own instance, which must not touch the real maps).
 */
export function meshObjectSpec(options: { pinned?: boolean } = {}): ObjectSpec {
  const spec = loadObjectSpec(new Uint8Array(readFileSync(meshObjectPath())));
  if (options.pinned !== false) return spec;
  return { ...spec, maps: spec.maps.map((m) => ({ ...m, pinning: 'none' as const })) };
}
