/**
 * Worker for shared-hash-map.test.ts: attaches to a shared hash map and, for keys 0..n-1 in
 * order, inserts the key (BPF_NOEXIST, zero), looks it up and atomically adds 1 to it.
 * Posts the number of lookups that found nothing (0 when the map's locking works).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R10, reg } from '../../src/isa/builder.js';
import { VmRuntime } from '../../src/vm/runtime.js';

const { buffer, gate, keys, type, cpu } = workerData as { buffer: SharedArrayBuffer; gate: SharedArrayBuffer; keys: number; type: number; cpu: number };
const rt = new VmRuntime({ tier: 'interpreter' });
const map = rt.createMap({ name: 'shared', type, keySize: 4, valueSize: 8, maxEntries: keys, flags: 0, shared: buffer });
const prog = rt.load(
  'insert_and_count',
  6,
  new ProgramBuilder()
    .mov64(R6, 0) // key
    .mov64(R7, 0) // misses
    .store(8, R10, -16, 0)
    .label('loop')
    .store(4, R10, -4, reg(R6))
    .lddwPseudo(R1, 'map_fd', map.fd).mov64(R2, reg(R10)).alu64('add', R2, -4).mov64(R3, reg(R10)).alu64('add', R3, -16).mov64(R4, 1)
    .call(2)
    .lddwPseudo(R1, 'map_fd', map.fd).mov64(R2, reg(R10)).alu64('add', R2, -4)
    .call(1)
    .jump('ne', R0, 0, 'found')
    .alu64('add', R7, 1)
    .goto('next')
    .label('found')
    .mov64(R1, 1)
    .atomic('add', 8, R0, 0, R1)
    .label('next')
    .alu64('add', R6, 1)
    .jump('lt', R6, keys, 'loop')
    .mov64(R0, reg(R7))
    .exit()
    .build(),
);
parentPort!.postMessage('ready');
Atomics.wait(new Int32Array(gate), 0, 0);
const misses = rt.machine.run(prog, { budget: keys * 40, cpu });
parentPort!.postMessage({ misses: Number(misses) });
