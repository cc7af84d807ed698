/**
 * The everyday tasks with the kernel backend, as a user writes them (these are the
 * README's examples): load an object, get a map, read and write it, attach a program,
 * read events.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/index.js';
import { loadCollection, RingBufferReader } from '../../src/kernel/index.js';
import { join } from 'node:path';
import { repoRoot } from '../support/clang.js';
import { describeKernel } from './support.js';

// The object bpfkit ships for the README (bpf/examples/getppid_events.c, committed .o).
const objectPath = () => join(repoRoot, 'bpf/examples/getppid_events.o');

describeKernel('everyday examples', () => {
  it('load an object, set a constant, attach, read a map and events', async () => {
    // Load an object file, setting a `const volatile` before load.
    const spec = loadObjectSpec(readFileSync(objectPath()));
    using collection = loadCollection(spec, { variables: { report_every: 10 } });

    // Attach a program where its section says (tracepoint/syscalls/sys_enter_getppid).
    collection.attach('count_getppid');

    // Fire it: a child process calls getppid() 100 times.
    const child = spawnSync('python3', ['-c', 'import os\nfor _ in range(100): os.getppid()']);
    const pid = child.pid!;

    // Read a map: calls per process id (u32 -> u32).
    const calls = collection.map('calls');
    const key = new Uint8Array(new Uint32Array([pid]).buffer);
    const value = calls.lookup(key);
    const count = new Uint32Array(value!.buffer)[0]!;
    expect(count).toBeGreaterThanOrEqual(100); // python calls getppid() a few times itself

    // Write a map, and iterate it.
    calls.update(key, new Uint8Array(new Uint32Array([0]).buffer));
    const pids = [...calls.keys()].map((k) => new Uint32Array(k.buffer)[0]);
    expect(pids).toContain(pid);

    // Read events from the ring buffer: one every 10 calls.
    using reader = new RingBufferReader(collection.map('events'));
    const mine = reader.drain().map((e) => new Uint32Array(e.buffer)).filter(([p]) => p === pid);
    expect(mine.map(([, n]) => n)).toEqual(Array.from({ length: Math.floor(count / 10) }, (_, i) => (i + 1) * 10));
  });

  it('wait for events with for await, and stop with an AbortSignal', async () => {
    using collection = loadCollection(loadObjectSpec(readFileSync(objectPath())));
    collection.attachAll();
    using reader = new RingBufferReader(collection.map('events'));
    reader.drain();
    const stop = new AbortController();
    setTimeout(() => spawnSync('python3', ['-c', 'import os; os.getppid()']), 20);
    for await (const event of reader.records({ signal: stop.signal })) {
      const [pid, calls] = new Uint32Array(event.buffer);
      expect(pid).toBeGreaterThan(0);
      expect(calls).toBeGreaterThan(0);
      stop.abort();
    }
  });
});
