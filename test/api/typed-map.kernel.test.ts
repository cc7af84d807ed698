import { loadCollection } from '../../src/kernel/collection.js';
import { possibleCpus } from '../../src/kernel/cpus.js';
import { RingBufferReader } from '../../src/kernel/ring-buffer.js';
import { describeKernel } from '../kernel/support.js';
import { typedMapTests } from './typed-map-suite.js';

describeKernel('typed maps on the kernel backend', () => {
  typedMapTests((spec) => {
    const collection = loadCollection(spec);
    try {
      const events = new RingBufferReader(collection.map('events'));
      return { collection, events, cpus: possibleCpus() };
    } catch (error) {
      collection.close();
      throw error;
    }
  });
});
