/** Worker for shared-map.test.ts: attaches to a shared array map and runs an atomic-increment loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { ProgramBuilder, R0, R1, R2 } from '../../src/isa/builder.js';
import { MapType } from '../../src/uapi/map-types.js';
import { VmRuntime } from '../../src/vm/runtime.js';

const { buffer, gate, iterations, tier } = workerData as { buffer: SharedArrayBuffer; gate: SharedArrayBuffer; iterations: number; tier: 'interpreter' | 'js' };
const rt = new VmRuntime({ tier });
const map = rt.createMap({ name: 'shared', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, shared: buffer });
const prog = rt.load(
  'inc',
  6,
  new ProgramBuilder()
    .lddwPseudo(R1, 'map_value', map.fd, 0)
    .mov64(R2, 1)
    .mov64(R0, 0)
    .label('loop')
    .atomic('add', 8, R1, 0, R2)
    .alu64('add', R0, 1)
    .jump('lt', R0, iterations, 'loop')
    .exit()
    .build(),
);
// Start together: every worker waits at the gate until the test opens it.
parentPort!.postMessage('ready');
Atomics.wait(new Int32Array(gate), 0, 0);
rt.machine.run(prog, { budget: iterations * 10 });
parentPort!.postMessage('done');
