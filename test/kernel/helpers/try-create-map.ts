// Run as an unprivileged user by faults.test.ts: prints the error creating a map gives.
import { createMap } from '../../../src/kernel/map-create.js';

try {
  createMap({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 1 });
  console.log('created');
} catch (error) {
  console.log(`${(error as Error).name}: ${(error as Error).message}`);
}
