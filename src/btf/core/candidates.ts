import type { Btf } from '../btf.js';
import { kindsCoreCompat } from './compat.js';
import { essentialName } from './names.js';

/**
 * Candidate target types for a local root type, as libbpf's bpf_core_find_cands: every
 * target type of a CO-RE-compatible kind whose essential name (flavor suffix stripped)
 * equals the local one, in id order.
 */
export function findCandidates(local: Btf, localId: number, target: Btf, index: CandidateIndex): number[] {
  const lt = local.typeById(localId);
  const name = essentialName(lt.name);
  const out: number[] = [];
  for (const id of index.byEssentialName(name)) {
    if (kindsCoreCompat(target.typeById(id), lt)) out.push(id);
  }
  return out;
}

/**
 * Target types by essential name, built once per target BTF (vmlinux has ~130k types;
 * libbpf scans linearly per root type, an index gives the same ids in the same order).
 */
export class CandidateIndex {
  private readonly map = new Map<string, number[]>();
  constructor(target: Btf) {
    for (const t of target.allTypes()) {
      if (t.name === '') continue;
      const key = essentialName(t.name);
      const l = this.map.get(key);
      if (l) l.push(t.id);
      else this.map.set(key, [t.id]);
    }
  }
  byEssentialName(name: string): readonly number[] {
    return this.map.get(name) ?? [];
  }
}
