import type { MapSpec } from '../../elf/object-spec.js';
import { MapType, mapTypeName } from '../../uapi/map-types.js';
import { ArrayMap } from './array-map.js';
import { fail, type MapParams } from './base-map.js';
import { BloomFilterMap } from './bloom-filter-map.js';
import { ArrayOfMapsMap, HashOfMapsMap, ProgArrayMap, type FdHost } from './fd-maps.js';
import { HashMap } from './hash-map.js';
import { SharedHashMap } from './shared-hash-map.js';
import { LpmTrieMap } from './lpm-trie-map.js';
import { PerfEventArrayMap } from './perf-event-array-map.js';
import { QueueStackMap } from './queue-stack-map.js';
import { RingBufferMap } from './ring-buffer-map.js';
import { SkStorageMap, SockMapMap, type SocketHost } from './sock-maps.js';
import type { VmMap } from './vm-map.js';

/** A map definition: a MapSpec, or just its parameters. */
export type MapDefinition = MapParams &
  Partial<Pick<MapSpec, 'initialData' | 'mapExtra' | 'readOnly'>> & {
    /**
     * Array, hash and per-CPU hash maps: keep the map in a SharedArrayBuffer (true), or
     * attach to the one another worker's map lives in, for use from several workers.
     */
    shared?: boolean | SharedArrayBuffer;
  };

/**
 * Create a vm map of the spec's type, with the kernel's parameter checks.
 * @throws VmErrnoError EINVAL for bad parameters, EOPNOTSUPP for a type the vm lacks.
 */
export function createMap(fd: number, def: MapDefinition, host: FdHost & SocketHost): VmMap {
  switch (def.type) {
    case MapType.HASH:
    case MapType.PERCPU_HASH:
      if (def.shared) return new SharedHashMap(fd, def, host, def.shared);
      return new HashMap(fd, def, host);
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
      if (def.shared) fail('EINVAL', `map ${def.name}: LRU hash maps cannot be shared between workers yet`);
      return new HashMap(fd, def, host);
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
      return new ArrayMap(fd, def, host, def.initialData, def.shared);
    case MapType.LPM_TRIE:
      return new LpmTrieMap(fd, def, host);
    case MapType.QUEUE:
    case MapType.STACK:
      return new QueueStackMap(fd, def, host);
    case MapType.BLOOM_FILTER:
      return new BloomFilterMap(fd, def, host);
    case MapType.RINGBUF:
      return new RingBufferMap(fd, def, host);
    case MapType.PERF_EVENT_ARRAY:
      return new PerfEventArrayMap(fd, def, host);
    case MapType.PROG_ARRAY:
      return new ProgArrayMap(fd, def, host);
    case MapType.ARRAY_OF_MAPS:
      return new ArrayOfMapsMap(fd, def, host);
    case MapType.HASH_OF_MAPS:
      return new HashOfMapsMap(fd, def, host);
    case MapType.SOCKMAP:
    case MapType.SOCKHASH:
      return new SockMapMap(fd, def, host);
    case MapType.SK_STORAGE:
      return new SkStorageMap(fd, def, host);
    default:
      fail('EOPNOTSUPP', `map ${def.name}: the vm has no ${mapTypeName(def.type) ?? `type ${def.type}`} maps yet`);
  }
}
