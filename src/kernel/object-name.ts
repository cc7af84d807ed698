import { OBJ_NAME_LEN } from './bpf-attr.js';

/** The kernel accepts [A-Za-z0-9_.] in map and program names, at most 15 bytes. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, OBJ_NAME_LEN - 1);
}
