// Load an object into the kernel, set a constant, attach, read and write a map, read events.
// Run as root: node --import tsx examples/kernel-everyday.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { elf } from 'bpfkit';
import { loadCollection, RingBufferReader } from 'bpfkit/kernel';

// Parse the object and load it, setting `const volatile __u32 report_every` first.
const spec = elf.loadObjectSpec(readFileSync('bpf/examples/getppid_events.o'));
using collection = loadCollection(spec, { variables: { report_every: 10 } });

// Attach the program where its section says: tracepoint/syscalls/sys_enter_getppid.
collection.attach('count_getppid');

// Fire it: a child process calls getppid() 100 times.
const pid = Number(execFileSync('python3', ['-c', 'import os\nfor _ in range(100): os.getppid()\nprint(os.getpid())']));

// Read a map: calls per process id (u32 -> u32).
const calls = collection.map('calls');
const key = new Uint8Array(new Uint32Array([pid]).buffer);
const count = new Uint32Array(calls.lookup(key)!.buffer)[0]!;
console.log(`process ${pid} called getppid() ${count} times`);

// Write a map entry, and iterate the keys.
calls.update(key, new Uint8Array(new Uint32Array([0]).buffer));
console.log('processes seen:', [...calls.keys()].map((k) => new Uint32Array(k.buffer)[0]).length);

// Read the events the program sent to its ring buffer: one every 10 calls.
using reader = new RingBufferReader(collection.map('events'));
const mine = reader.drain().map((e) => new Uint32Array(e.buffer)).filter(([p]) => p === pid);
console.log('events:', mine.map(([, n]) => n).join(' '));
