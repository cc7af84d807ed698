import type { HelperFn, HelperTable } from './helper.js';
import { HELPER_DEFINITIONS, type HelperDefinition } from './definitions.js';

/**
 * Which helpers each program type may call, as the kernel's `get_func_proto` of each
 * program type decides. A helper not available to a type makes the program fail to
 * load ("unknown func"), as in the kernel.
 */
const cache = new Map<number, HelperTable>();

/** The helper table for a program type. */
export function helpersFor(progType: number): HelperTable {
  let table = cache.get(progType);
  if (table === undefined) {
    const m = new Map<number, HelperFn>();
    for (const def of HELPER_DEFINITIONS) if (availableTo(def, progType)) m.set(def.id, def.fn);
    table = m;
    cache.set(progType, table);
  }
  return table;
}

function availableTo(def: HelperDefinition, progType: number): boolean {
  if (def.types !== 'all') return def.types.includes(progType);
  return def.except === undefined || !def.except.includes(progType);
}

/** Name of a helper id (for messages), e.g. 1 -> "map_lookup_elem". */
export function helperName(id: number): string | undefined {
  return HELPER_DEFINITIONS.find((d) => d.id === id)?.name;
}
