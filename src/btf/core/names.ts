/**
 * CO-RE name rules. A "flavor" suffix `___something` lets a program define several
 * local variants of one kernel type (`task_struct___old`); candidates are matched on
 * the "essential" name without it, as libbpf's bpf_core_essential_name_len does.
 */

/** Is `s[i..]` an `X___Y` separator (X and Y not underscores)? */
function isFlavorSep(s: string, i: number): boolean {
  return s[i] !== '_' && s[i + 1] === '_' && s[i + 2] === '_' && s[i + 3] === '_' && s[i + 4] !== '_' && i + 4 < s.length;
}

/** Length of the name without its last `___flavor` suffix. */
export function essentialNameLength(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) {
    if (isFlavorSep(name, i)) return i + 1;
  }
  return name.length;
}

/** The name without its flavor suffix. */
export function essentialName(name: string): string {
  return name.slice(0, essentialNameLength(name));
}

/** bpf_core_names_match: equal essential names; an anonymous target only matches an anonymous local. */
export function namesMatch(local: string, target: string): boolean {
  if (target === '') return local === '';
  return essentialName(local) === essentialName(target);
}
