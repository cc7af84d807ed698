/**
 * Ring buffer throughput: 64-byte records produced by an eBPF program driven through
 * BPF_PROG_TEST_RUN in a worker thread, consumed (1) by bpfkit's RingBufferReader record
 * by record (`for await`, a copy each), (2) by bpfkit in batches (`consume`, zero-copy
 * views), and (3) by a C consumer over libbpf's ring_buffer__poll (built here from
 * bench/kernel-ringbuf.c). Records per second from the first record to the last; reserve
 * failures (drops) are counted by the program and reported. Targets: (1) at least 0.5x of
 * (3); (2) at least 10 M records/s. Raw samples in bench/results/kernel-ringbuf.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FP, ProgramBuilder, R0, R1, R2, R3, R4, reg } from '../src/isa/index.js';
import { createMap } from '../src/kernel/map-create.js';
import { KernelProgram } from '../src/kernel/program.js';
import { RingBufferReader } from '../src/kernel/ring-buffer.js';
import { compare, ratio, report, saveResults } from './lib/measure.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const TOTAL = Number(process.env.RECORDS ?? 2_000_000);
const REPEAT = 10_000;
const here = dirname(fileURLToPath(import.meta.url));
const buildDir = mkdtempSync(join(tmpdir(), 'bpfkit-bench-'));
const peer = join(buildDir, 'kernel-ringbuf');
execFileSync('cc', ['-O2', '-o', peer, join(here, 'kernel-ringbuf.c'), '-lbpf'], { stdio: 'inherit' });

const ring = createMap({ type: 'RINGBUF', name: 'bench_rb', maxEntries: 64 << 20 });
const drops = createMap({ type: 'ARRAY', name: 'bench_drops', valueSize: 8, maxEntries: 1 });
const pin = `/sys/fs/bpf/bpfkit-bench-rb-${process.pid}`;
ring.pin(pin);

// r6 = 0 on the stack as a 64-byte record; ringbuf_output; on failure drops[0]++.
const b = new ProgramBuilder();
for (let off = -64; off < 0; off += 8) b.store(8, FP, off, 0);
const program = KernelProgram.load({
  type: 'XDP',
  name: 'rb_producer',
  instructions: b
    .lddwPseudo(R1, 'map_fd', ring.fd)
    .mov64(R2, reg(FP))
    .alu64('add', R2, -64)
    .mov64(R3, 64)
    .mov64(R4, 0)
    .call(130) // bpf_ringbuf_output
    .jump('eq', R0, 0, 'out')
    .store(4, FP, -68, 0)
    .lddwPseudo(R1, 'map_fd', drops.fd)
    .mov64(R2, reg(FP))
    .alu64('add', R2, -68)
    .call(1)
    .jump('eq', R0, 0, 'out')
    .mov64(R1, 1)
    .atomic('add', 8, R0, 0, R1)
    .label('out')
    .mov64(R0, 2)
    .exit()
    .build(),
});

function produce(total = TOTAL): Promise<void> {
  // Workers do not inherit the TypeScript loader: register tsx, then import the producer.
  const entry = new URL('./kernel-ringbuf-producer.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })
    .catch((error) => { console.error(error); process.exit(1); });`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { programFd: program.fd, total, repeat: REPEAT },
  });
  return new Promise((resolve, reject) => {
    worker.on('message', () => resolve());
    worker.on('error', reject);
    worker.on('exit', (code) => code !== 0 && reject(new Error(`producer worker exited with ${code}`)));
  });
}

let dropTotal = 0n;
function takeDrops(): bigint {
  const key = new Uint8Array(4);
  const n = new DataView(drops.lookup(key)!.buffer).getBigUint64(0, true);
  drops.update(key, new Uint8Array(8));
  dropTotal += n;
  return n;
}

const reader = new RingBufferReader(ring);

/** Consume until TOTAL - drops records arrived; records/s from the first to the last. */
async function bpfkit(mode: 'records' | 'batch'): Promise<number> {
  reader.drain();
  let seen = 0;
  let first = 0n;
  let producerDone = false;
  const produced = produce().then(() => {
    producerDone = true;
  });
  if (mode === 'records') {
    const controller = new AbortController();
    for await (const record of reader.records({ signal: controller.signal })) {
      if (seen++ === 0) first = process.hrtime.bigint();
      if (record.length !== 64) throw new Error('bad record');
      if (seen >= TOTAL || (producerDone && reader.pending === 0)) break;
    }
  } else {
    for (;;) {
      const n = reader.consumeRaw(() => {});
      if (n > 0 && first === 0n) first = process.hrtime.bigint();
      seen += n;
      if (seen >= TOTAL || (producerDone && reader.pending === 0)) break;
      if (n === 0) await reader.wait();
    }
  }
  const secs = Number(process.hrtime.bigint() - first) / 1e9;
  await produced;
  seen += reader.consume(() => {});
  takeDrops();
  return seen / secs;
}

/** The consumer alone: fill the ring first (PREFILL records fit in it), then time draining it. */
const PREFILL = 800_000;

async function prefilledBpfkit(mode: 'records' | 'batch'): Promise<number> {
  reader.drain();
  await produce(PREFILL);
  let seen = 0;
  const start = process.hrtime.bigint();
  if (mode === 'batch') seen = reader.consumeRaw(() => {});
  else {
    // Copies, handed over 4096 at a time (as records() does per wake-up).
    for (let batch = reader.drain(4096); batch.length > 0; batch = reader.drain(4096)) seen += batch.length;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (seen + Number(takeDrops()) !== PREFILL) throw new Error(`pre-filled ring held ${seen} records, not ${PREFILL}`);
  return seen / secs;
}

async function prefilledLibbpf(): Promise<number> {
  reader.drain();
  await produce(PREFILL);
  takeDrops();
  return libbpf(PREFILL, false);
}

async function libbpf(total = TOTAL, withProducer = true): Promise<number> {
  const child = spawn(peer, [pin, String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Listen for the exit now: the consumer may finish before the producer reports back.
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 5));
  if (withProducer) await produce();
  await exited;
  takeDrops();
  return Number(out.trim().split('\n').pop()!.split(' ')[0]);
}

try {
  await bpfkit('batch'); // warm-up
  dropTotal = 0n;
  const result = await compare(
    `ring buffer, ${TOTAL} records of 64 bytes`,
    'records/s',
    'higher',
    { 'libbpf ring_buffer__poll': libbpf, 'bpfkit for await': () => bpfkit('records'), 'bpfkit batch consume': () => bpfkit('batch') },
    ROUNDS,
  );
  report(result, 'libbpf ring_buffer__poll');
  const alone = await compare(
    `consumer alone, a ring pre-filled with ${PREFILL} records`,
    'records/s',
    'higher',
    { 'libbpf ring_buffer__poll': prefilledLibbpf, 'bpfkit drain (copies)': () => prefilledBpfkit('records'), 'bpfkit batch consume': () => prefilledBpfkit('batch') },
    ROUNDS,
  );
  report(alone, 'libbpf ring_buffer__poll');
  const figures = {
    perRecordRatio: ratio(result, 'bpfkit for await', 'libbpf ring_buffer__poll'),
    batchRecordsPerSecond: result.medians['bpfkit batch consume'],
    aloneCopiesRatio: ratio(alone, 'bpfkit drain (copies)', 'libbpf ring_buffer__poll'),
    aloneBatchRecordsPerSecond: alone.medians['bpfkit batch consume'],
    drops: Number(dropTotal),
  };
  console.log(
    `\nfor-await ${figures.perRecordRatio.toFixed(2)}x of libbpf (target 0.5x); batch ${(figures.batchRecordsPerSecond! / 1e6).toFixed(2)} M records/s (target 10); ` +
      `reserve failures (drops) over all runs: ${figures.drops}`,
  );
  console.log(
    `consumer alone: copies ${figures.aloneCopiesRatio.toFixed(2)}x of libbpf; batch ${(figures.aloneBatchRecordsPerSecond! / 1e6).toFixed(2)} M records/s`,
  );
  saveResults('kernel-ringbuf', { rounds: ROUNDS, records: TOTAL, prefill: PREFILL, figures, result, alone });
} finally {
  reader.close();
  program.close();
  if (existsSync(pin)) unlinkSync(pin);
  ring.close();
  drops.close();
  rmSync(buildDir, { recursive: true, force: true });
}
