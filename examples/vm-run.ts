// Run an XDP program in bpfkit's own runtime: no kernel, no root; works in a browser too.
// Run: node --import tsx examples/vm-run.ts
import { readFileSync } from 'node:fs';
import { elf } from 'bpfkit';
import { createVmCollection } from 'bpfkit/vm';

using collection = createVmCollection(elf.loadObjectSpec(readFileSync('bpf/examples/xdp_count.o')));

// An Ethernet + IPv4 header carrying UDP (protocol 17), padded to 64 bytes.
const packet = new Uint8Array(64);
packet.set([0x08, 0x00], 12); // EtherType IPv4
packet[14] = 0x45; // version 4, header length 5 words
packet[23] = 17; // protocol: UDP

const { retval } = collection.program('xdp_count').testRun({ data: packet, repeat: 3 });
console.log('verdict:', retval === 2 ? 'XDP_PASS' : retval);

// packets_by_proto is a per-CPU array: one u64 per virtual CPU, summed here.
const perCpu = collection.map('packets_by_proto').lookup(new Uint8Array(new Uint32Array([17]).buffer))!;
const values = new BigUint64Array(perCpu.buffer, perCpu.byteOffset, perCpu.byteLength / 8);
console.log('UDP packets counted:', values.reduce((a, b) => a + b, 0n));
