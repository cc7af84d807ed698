/**
 * Producer thread of bench/kernel-ringbuf.bench.ts. Runs the producer program
 * (bench/kernel-ringbuf-program.ts, fd shared with the parent thread) with
 * BPF_PROG_TEST_RUN, asking each invocation for up to `chunk` records, until `total`
 * records were written. An invocation writes only what fits in the ring, so when the
 * consumer falls behind the producer waits here (BACKOFF_US, default 50 µs, at a time)
 * until there is room.
 * Each request `{ total, chunk }` is answered with `{ produced, seconds, invocations, fullInvocations }`;
 * the parent can cut a request short through the shared `stop` flag.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BpfCmd, ProgTestRunAttr } from '../src/kernel/bpf-attr.js';
import { encodeStruct, stableBuffer } from '../src/kernel/layout.js';
import { native } from '../src/kernel/native.js';

const { programFd, stop } = workerData as { programFd: number; stop: Int32Array };
/** How long to wait when the ring is full. */
const BACKOFF_MS = Number(process.env.BACKOFF_US ?? 50) / 1000;
const data = stableBuffer(64);
const wanted = new DataView(data.buffer);
// One attr buffer, re-encoded per run: the loop below is the producer's hot path.
const attr = stableBuffer(ProgTestRunAttr.size);
const attrView = new DataView(attr.buffer);
const bpf = native().bpf;

parentPort!.on('message', ({ total, chunk }: { total: number; chunk: number }) => {
  let produced = 0;
  let invocations = 0;
  let fullInvocations = 0;
  const start = process.hrtime.bigint();
  // The parent sets `stop` when its consumer gave up: a full ring would hold us here forever.
  while (produced < total && Atomics.load(stop, 0) === 0) {
    wanted.setUint32(0, Math.min(chunk, total - produced), true);
    encodeStruct(ProgTestRunAttr, { prog_fd: programFd, data_in: data, data_size_in: data.length, repeat: 1 }, attr);
    const result = bpf(BpfCmd.PROG_TEST_RUN, attr);
    if (result < 0) throw new Error(`PROG_TEST_RUN failed: ${result}`);
    const written = attrView.getUint32(4, true); // retval: records written
    invocations++;
    if (written === 0) {
      // The ring is full: give the core back for a moment (to the consumer's other
      // threads, such as V8's garbage collector) rather than spin.
      fullInvocations++;
      Atomics.wait(stop, 0, 0, BACKOFF_MS);
    }
    produced += written;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  parentPort!.postMessage({ produced, seconds, invocations, fullInvocations });
});
