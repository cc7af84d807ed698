// Keys, values and events as TypeScript values, typed by the object's BTF.
// Run as root: node --import tsx examples/kernel-typed.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { btf, elf, objectCodec, typedMap } from 'bpfkit';
import { loadCollection, RingBufferReader } from 'bpfkit/kernel';

const spec = elf.loadObjectSpec(readFileSync('bpf/examples/getppid_events.o'));
using collection = loadCollection(spec);
collection.attach('count_getppid');
const pid = Number(execFileSync('python3', ['-c', 'import os\nfor _ in range(3): os.getppid()\nprint(os.getpid())']));

// `calls` is declared u32 -> u32 in C, so keys and values are numbers here.
const calls = typedMap<number, number>(collection, 'calls', spec);
console.log(`process ${pid}: ${calls.get(pid)} calls`);
calls.set(pid, 0);
console.log(`after reset: ${calls.get(pid)}`);

// Ring buffer records decoded as the C `struct event { __u32 pid; __u32 calls; }`.
const decodeEvent = btf.recordDecoder<{ pid: number; calls: number }>(objectCodec(spec), 'event');
using reader = new RingBufferReader(collection.map('events'));
const mine = reader.drain().map(decodeEvent).filter((e) => e.pid === pid);
console.log('events:', JSON.stringify(mine.map((e) => e.calls)));
