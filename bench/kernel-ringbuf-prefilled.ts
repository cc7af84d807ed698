/**
 * The record iterator alone: a ring pre-filled by the bench producer (in this thread),
 * then drained with `for await` over RingBufferReader.records(); consumeRaw and drain
 * for reference. Medians of ROUNDS (default 7) interleaved rounds. For profiling the
 * per-record path (`node --cpu-prof --import tsx bench/kernel-ringbuf-prefilled.ts`).
 * Knobs: ROUNDS, RECORDS (default 2 M), RING_MIB (default 256).
 */
import { KernelBtf } from '../src/kernel/btf-object.js';
import { BpfCmd, ProgTestRunAttr } from '../src/kernel/bpf-attr.js';
import { encodeStruct, stableBuffer } from '../src/kernel/layout.js';
import { createMap } from '../src/kernel/map-create.js';
import { native } from '../src/kernel/native.js';
import { KernelProgram } from '../src/kernel/program.js';
import { RingBufferReader } from '../src/kernel/ring-buffer.js';
import { producerProgram, RECORD_FOOTPRINT } from './kernel-ringbuf-program.js';
import { median } from './lib/measure.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const RING_SIZE = Number(process.env.RING_MIB ?? 256) << 20;
const TOTAL = Math.min(Number(process.env.RECORDS ?? 2_000_000), Math.floor(RING_SIZE / RECORD_FOOTPRINT) - 2);
const MODES = (process.env.MODES ?? 'for await,consumeRaw,drain').split(',');

const ring = createMap({ type: 'RINGBUF', name: 'prefill_rb', maxEntries: RING_SIZE });
const drops = createMap({ type: 'ARRAY', name: 'prefill_drops', valueSize: 8, maxEntries: 1 });
const producer = producerProgram(ring.fd, RING_SIZE, drops.fd, 4096);
const btf = KernelBtf.load(producer.btf);
const program = KernelProgram.load({ type: 'XDP', name: 'rb_prefill', instructions: producer.instructions, btfFd: btf.fd, funcInfo: producer.funcInfo });
const reader = new RingBufferReader(ring);

const data = stableBuffer(64);
const wanted = new DataView(data.buffer);
const attr = stableBuffer(ProgTestRunAttr.size);
const attrView = new DataView(attr.buffer);
function fill(total: number): void {
  let produced = 0;
  while (produced < total) {
    wanted.setUint32(0, Math.min(16_384, total - produced), true);
    encodeStruct(ProgTestRunAttr, { prog_fd: program.fd, data_in: data, data_size_in: data.length, repeat: 1 }, attr);
    if (native().bpf(BpfCmd.PROG_TEST_RUN, attr) < 0) throw new Error('PROG_TEST_RUN failed');
    const written = attrView.getUint32(4, true);
    if (written === 0) throw new Error('the ring is full');
    produced += written;
  }
}

async function run(mode: string): Promise<number> {
  fill(TOTAL);
  let seen = 0;
  let bad = 0;
  const start = process.hrtime.bigint();
  if (mode === 'for await') {
    for await (const record of reader.records({ signal: new AbortController().signal })) {
      if (record.length !== 64) bad++;
      if (++seen === TOTAL) break;
    }
  } else if (mode === 'consumeRaw') {
    seen = reader.consumeRaw((_b, _o, length) => {
      if (length !== 64) bad++;
    });
  } else {
    for (let batch = reader.drain(4096); batch.length > 0; batch = reader.drain(4096)) seen += batch.length;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (seen !== TOTAL || bad) throw new Error(`${mode}: ${seen} of ${TOTAL}, ${bad} bad`);
  if (reader.pending !== 0) throw new Error('records left');
  return seen / seconds;
}

try {
  const samples: Record<string, number[]> = {};
  for (const mode of MODES) await run(mode); // warm-up
  for (let round = 0; round < ROUNDS; round++) for (const mode of MODES) (samples[mode] ??= []).push(await run(mode));
  for (const mode of MODES) console.log(`${mode.padEnd(12)} median ${(median(samples[mode]!) / 1e6).toFixed(2)} M/s  [${samples[mode]!.map((x) => (x / 1e6).toFixed(2)).join(' ')}]`);
} finally {
  reader.close();
  program.close();
  btf.close();
  ring.close();
  drops.close();
}
