import type { Btf } from '../btf.js';

/**
 * Kernel-managed fields of map values, as the kernel's btf_parse_fields finds them:
 * structs it owns by name, and pointers tagged `__kptr` / `__kptr_untrusted` /
 * `__percpu_kptr` / `__uptr`. User space never sees their real contents (lookups return
 * them zeroed or hidden; updates ignore them), so the codec leaves them alone.
 *
 * Measured for a referenced kptr on Linux 6.18 (test/kernel/kptr.test.ts): a lookup
 * reads the pointer as zero; an update never writes it, whatever bytes it holds there,
 * but it does release the object the old value held (an array element's fields are
 * freed in place, a hash element is replaced) — so a user-space update of a value
 * empties its kptr, as a delete does. A refused update (BPF_NOEXIST on an existing
 * key) leaves it alone.
 */
const SPECIAL_STRUCTS = new Set([
  'bpf_spin_lock',
  'bpf_res_spin_lock',
  'bpf_timer',
  'bpf_wq',
  'bpf_task_work',
  'bpf_list_head',
  'bpf_list_node',
  'bpf_rb_root',
  'bpf_rb_node',
  'bpf_refcount',
]);

const POINTER_TAGS = new Set(['kptr', 'kptr_untrusted', 'kptr_ref', 'percpu_kptr', 'uptr']);

/** The special-field name of type `id` ("bpf_timer", "kptr", ...), or undefined for ordinary data. */
export function specialFieldOf(btf: Btf, id: number): string | undefined {
  const t = btf.resolve(id);
  if ((t.kind === 'struct' || t.kind === 'union') && SPECIAL_STRUCTS.has(t.name)) return t.name;
  if (t.kind === 'array') return specialFieldOf(btf, t.type);
  if (t.kind !== 'ptr') return undefined;
  // The tag sits between the pointer and its target: ptr -> type_tag("kptr") -> struct.
  let cur = btf.typeById(t.type);
  for (let depth = 0; depth < 32; depth++) {
    if (cur.kind === 'type_tag' && POINTER_TAGS.has(cur.name)) return cur.name;
    if (cur.kind !== 'type_tag' && cur.kind !== 'const' && cur.kind !== 'volatile' && cur.kind !== 'restrict') return undefined;
    cur = btf.typeById(cur.type);
  }
  return undefined;
}

/**
 * Does a value of type `id` hold a kernel-managed field anywhere (in a member, a nested
 * struct or an array element)? The kernel only knows about such fields through the map's
 * BTF, so a map whose value has one cannot do without it.
 */
export function hasSpecialField(btf: Btf, id: number, depth = 0): boolean {
  if (depth > 32) return false;
  if (specialFieldOf(btf, id) !== undefined) return true;
  const t = btf.resolve(id);
  if (t.kind === 'array') return hasSpecialField(btf, t.type, depth + 1);
  if (t.kind === 'struct' || t.kind === 'union') return t.members.some((m) => hasSpecialField(btf, m.type, depth + 1));
  return false;
}
