/**
 * Worker thread of bench/kernel-ringbuf.bench.ts: drives the producer program with
 * BPF_PROG_TEST_RUN (fd shared with the parent thread) until `total` records were asked for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BpfCmd, ProgTestRunAttr } from '../src/kernel/bpf-attr.js';
import { stableBuffer } from '../src/kernel/layout.js';
import { tryBpf } from '../src/kernel/syscall.js';

const { programFd, total, repeat } = workerData as { programFd: number; total: number; repeat: number };
const data = stableBuffer(64);
for (let done = 0; done < total; done += repeat) {
  const outcome = tryBpf(BpfCmd.PROG_TEST_RUN, ProgTestRunAttr, { prog_fd: programFd, data_in: data, data_size_in: 64, repeat: Math.min(repeat, total - done) });
  if (outcome.result < 0) throw new Error(`PROG_TEST_RUN failed: ${outcome.result}`);
}
parentPort!.postMessage('done');
