import { Errno } from '../errors.js';
import type { Machine } from '../interpreter.js';
import { ArrayOfMapsMap, HashOfMapsMap } from '../maps/fd-maps.js';
import type { VmMap } from '../maps/vm-map.js';
import { AddressSpace, Region } from '../memory.js';
import type { HelperFn } from './helper.js';

/** The map register `i` points at (from lddw map_fd), or a fault. */
export function argMap(m: Machine, i: number): VmMap {
  // As runtime.mapAt, without allocating a pointer object (this runs on every map helper call).
  const r = m.memory.regionOf(m.hi[i]!);
  if (r === undefined || r.kind !== 'map') return m.fault('invalid_helper_call', `r${i} is not a map pointer`, { hi: m.hi[i]!, lo: m.lo[i]!, size: 0 });
  return r.target as VmMap;
}

/** bpf_map_lookup_elem(map, key): pointer to the value, or NULL. */
export const mapLookupElem: HelperFn = (m) => {
  const map = argMap(m, 1);
  const key = m.argBytes(2, map.keySize, false);
  if (map instanceof ArrayOfMapsMap || map instanceof HashOfMapsMap) {
    const inner = map.innerMap(key);
    if (inner?.handle === undefined) m.ret(0, 0);
    else m.ret(AddressSpace.lo(0), inner.handle.hi);
    return;
  }
  if (map.keySize === 0 && map.valueSize === 0) return m.fault('invalid_helper_call', `bpf_map_lookup_elem is not allowed on map ${map.name}`);
  const value = map.lookupRef(key, m.state.cpu);
  if (value === undefined) {
    m.ret(0, 0);
    return;
  }
  const p = m.runtime.valuePointer(map, value);
  m.ret(p.lo, p.hi);
};

/** bpf_map_update_elem(map, key, value, flags): 0 or -errno. */
export const mapUpdateElem: HelperFn = (m) => {
  const map = argMap(m, 1);
  if (map instanceof ArrayOfMapsMap || map instanceof HashOfMapsMap) return m.fault('invalid_helper_call', `programs cannot update map-in-map ${map.name}`);
  const key = m.argBytes(2, map.keySize, false);
  const value = m.argBytes(3, map.valueSize, false);
  m.retNumber(map.updateElem(key, value, m.lo[4]! >>> 0, m.state.cpu));
};

/** bpf_map_delete_elem(map, key): 0 or -errno. */
export const mapDeleteElem: HelperFn = (m) => {
  const map = argMap(m, 1);
  const key = m.argBytes(2, map.keySize, false);
  m.retNumber(map.deleteElem(key));
};

/** bpf_map_push_elem(map, value, flags). */
export const mapPushElem: HelperFn = (m) => {
  const map = argMap(m, 1);
  if (map.pushElem === undefined) return m.fault('invalid_helper_call', `bpf_map_push_elem is not allowed on map ${map.name}`);
  m.retNumber(map.pushElem(m.argBytes(2, map.valueSize, false), m.lo[3]! >>> 0));
};

function popOrPeek(remove: boolean): HelperFn {
  return (m) => {
    const map = argMap(m, 1);
    if (map.popElem === undefined) return m.fault('invalid_helper_call', `bpf_map_${remove ? 'pop' : 'peek'}_elem is not allowed on map ${map.name}`);
    m.retNumber(map.popElem(m.argBytes(2, map.valueSize, map.keySize === 0 && map.type !== 30), remove));
  };
}
export const mapPopElem = popOrPeek(true);
export const mapPeekElem = popOrPeek(false);

/**
 * bpf_for_each_map_elem(map, callback, ctx, flags): calls callback(map, &key, &value, ctx)
 * per element until it returns 1; returns the number of elements visited.
 */
export const forEachMapElem: HelperFn = (m) => {
  const map = argMap(m, 1);
  const fn = m.argPointer(2);
  const ctx = m.argPointer(3);
  if (m.lo[4] !== 0 || m.hi[4] !== 0) {
    m.retNumber(-Errno.EINVAL);
    return;
  }
  const out = new Int32Array(2);
  let n = 0;
  for (const key of [...map.keys()]) {
    const value = map.lookupRef(key, m.state.cpu);
    if (value === undefined) continue;
    const keyRegion = m.memory.add(new Region('memory', `map ${map.name} key`, key, false));
    try {
      n++;
      m.callFunction(fn, [map.handle ? { lo: AddressSpace.lo(0), hi: map.handle.hi } : { lo: 0, hi: 0 }, { lo: AddressSpace.lo(0), hi: keyRegion.hi }, m.runtime.valuePointer(map, value), ctx], out);
    } finally {
      m.memory.remove(keyRegion);
    }
    if (out[0] === 1) break;
  }
  m.retNumber(n);
};
