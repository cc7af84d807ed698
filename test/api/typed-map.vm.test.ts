import { describe } from 'vitest';
import { createVmCollection } from '../../src/vm/collection.js';
import type { RingBufferMap } from '../../src/vm/maps/ring-buffer-map.js';
import { haveClang, inCI } from '../support/clang.js';
import { typedMapTests } from './typed-map-suite.js';

describe.skipIf(!inCI && !haveClang('v3'))('typed maps on the vm backend', () => {
  typedMapTests((spec) => {
    const collection = createVmCollection(spec);
    const events = (collection.map('events') as RingBufferMap).reader();
    return { collection, events, cpus: collection.map('per_cpu').cpus };
  });
});
