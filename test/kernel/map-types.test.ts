import { afterAll, expect, it } from 'vitest';
import { MapType, type MapTypeName } from '../../src/uapi/index.js';
import { createMap, type MapOptions } from '../../src/kernel/map-create.js';
import type { KernelMap } from '../../src/kernel/map.js';
import { describeKernel, openFdCount } from './support.js';

/** One way to create each map type this kernel has (the list, struct_ops aside). */
const cases: Array<[MapTypeName, Omit<MapOptions, 'type'>]> = [
  ['HASH', { keySize: 8, valueSize: 16, maxEntries: 64 }],
  ['ARRAY', { valueSize: 8, maxEntries: 16 }],
  ['PROG_ARRAY', { maxEntries: 4 }],
  ['PERF_EVENT_ARRAY', {}],
  ['PERCPU_HASH', { keySize: 4, valueSize: 8, maxEntries: 16 }],
  ['PERCPU_ARRAY', { valueSize: 12, maxEntries: 4 }],
  ['STACK_TRACE', { valueSize: 8 * 127, maxEntries: 64 }],
  ['CGROUP_ARRAY', { maxEntries: 4 }],
  ['LRU_HASH', { keySize: 4, valueSize: 4, maxEntries: 64 }],
  ['LRU_PERCPU_HASH', { keySize: 4, valueSize: 4, maxEntries: 64 }],
  ['LPM_TRIE', { keySize: 8, valueSize: 4, maxEntries: 64 }],
  ['ARRAY_OF_MAPS', { maxEntries: 4, innerMap: { type: 'ARRAY', valueSize: 4, maxEntries: 1 } }],
  ['HASH_OF_MAPS', { keySize: 4, maxEntries: 4, innerMap: { type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 8 } }],
  ['DEVMAP', { maxEntries: 4 }],
  ['SOCKMAP', { maxEntries: 4 }],
  ['CPUMAP', { maxEntries: 2 }],
  ['XSKMAP', { maxEntries: 4 }],
  ['SOCKHASH', { keySize: 4, maxEntries: 4 }],
  ['CGROUP_STORAGE', { keySize: 8, valueSize: 8 }],
  ['REUSEPORT_SOCKARRAY', { maxEntries: 4 }],
  ['PERCPU_CGROUP_STORAGE', { keySize: 8, valueSize: 8 }],
  ['QUEUE', { valueSize: 4, maxEntries: 8 }],
  ['STACK', { valueSize: 4, maxEntries: 8 }],
  ['SK_STORAGE', { valueSize: 8 }],
  ['DEVMAP_HASH', { maxEntries: 4 }],
  ['RINGBUF', { maxEntries: 4096 * 4 }],
  ['INODE_STORAGE', { valueSize: 8 }],
  ['TASK_STORAGE', { valueSize: 8 }],
  ['BLOOM_FILTER', { valueSize: 8, maxEntries: 128, mapExtra: 3n }],
  ['USER_RINGBUF', { maxEntries: 4096 * 4 }],
  ['CGRP_STORAGE', { valueSize: 8 }],
  ['ARENA', { maxEntries: 4 }],
];

describeKernel('creating every map type', () => {
  const before = openFdCount();
  const maps: KernelMap[] = [];
  afterAll(() => {
    for (const m of maps) m.close();
    expect(openFdCount()).toBe(before);
  });

  it.each(cases)('%s', (typeName, options) => {
    const map = createMap({ type: typeName, name: `t_${typeName.toLowerCase()}`, ...options });
    maps.push(map);
    expect(map.type).toBe(MapType[typeName]);
    expect(map.fd).toBeGreaterThan(2);
    const info = map.info();
    expect(info.id).toBeGreaterThan(0);
    if (['SK_STORAGE', 'INODE_STORAGE', 'TASK_STORAGE', 'CGRP_STORAGE'].includes(typeName)) expect(info.btfId).toBeGreaterThan(0);
  });
});
