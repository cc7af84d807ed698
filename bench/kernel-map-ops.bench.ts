/**
 * Map element operations from TypeScript against the same loop in C over libbpf:
 * single-element lookup and update on a hash map (target: at least 0.7x of libbpf), and
 * batch lookup of 100k entries into raw buffers (target: at least 0.8x) and decoded into
 * TypeScript values (target: at least 0.4x). The C peer is built here from
 * bench/kernel-map-ops.c and Debian's libbpf-dev; rounds are interleaved, medians reported,
 * raw samples saved to bench/results/kernel-map-ops.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMap } from '../src/kernel/map-create.js';
import type { KernelMap } from '../src/kernel/map.js';
import { stableBuffer } from '../src/kernel/layout.js';
import { compare, ratio, report, saveResults, type Comparison } from './lib/measure.js';

const ENTRIES = 1024;
const OPS = 1_000_000;
const BATCH_ENTRIES = 100_000;
const BATCH_PASSES = 10;
const ROUNDS = Number(process.env.ROUNDS ?? 11);

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = mkdtempSync(join(tmpdir(), 'bpfkit-bench-'));
const peer = join(buildDir, 'kernel-map-ops');
execFileSync('cc', ['-O2', '-o', peer, join(here, 'kernel-map-ops.c'), '-lbpf'], { stdio: 'inherit' });

function runPeer(op: string, entries: number, ops: number): number {
  return Number(execFileSync(peer, [op, String(entries), String(ops)], { encoding: 'utf8' }).trim());
}

function filledHash(entries: number): KernelMap {
  const map = createMap({ type: 'HASH', name: 'bench', keySize: 4, valueSize: 8, maxEntries: entries });
  const keys = new Uint8Array(entries * 4);
  const values = new Uint8Array(entries * 8);
  const kv = new DataView(keys.buffer);
  const vv = new DataView(values.buffer);
  for (let k = 0; k < entries; k++) {
    kv.setUint32(k * 4, k, true);
    vv.setBigUint64(k * 8, BigInt(k), true);
  }
  map.updateBatch(keys, values);
  return map;
}

/** Keys 0..n-1 as ready Uint8Arrays, so the loop measures the map operation, not key encoding. */
function keyList(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, k) => new Uint8Array(new Uint32Array([k]).buffer));
}

const map = filledHash(ENTRIES);
const keys = keyList(ENTRIES);
const value = new Uint8Array(8);
const out = new Uint8Array(8);

function tsLookup(): number {
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < OPS; i++) sink += map.lookup(keys[i % ENTRIES]!)![0]!;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink === -1) console.log(sink);
  return OPS / secs;
}

function tsLookupInto(): number {
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < OPS; i++) {
    map.lookupInto(keys[i % ENTRIES]!, out);
    sink += out[0]!;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink === -1) console.log(sink);
  return OPS / secs;
}

function tsUpdate(): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    value[0] = i & 0xff;
    map.update(keys[i % ENTRIES]!, value);
  }
  return OPS / (Number(process.hrtime.bigint() - start) / 1e9);
}

const big = filledHash(BATCH_ENTRIES);
const batchKeys = stableBuffer(BATCH_ENTRIES * 4);
const batchValues = stableBuffer(BATCH_ENTRIES * 8);
const tokens = [stableBuffer(big.batchTokenSize), stableBuffer(big.batchTokenSize)];

/** Whole-map passes with lookupBatchRaw into preallocated buffers: entries/s. */
function tsBatchRaw(): number {
  let total = 0;
  const start = process.hrtime.bigint();
  for (let pass = 0; pass < BATCH_PASSES; pass++) {
    let inToken: Uint8Array | null = null;
    for (let round = 0; ; round++) {
      const outToken = tokens[round & 1]!;
      const { count, done } = big.lookupBatchRaw(batchKeys, batchValues, BATCH_ENTRIES, inToken, outToken);
      total += count;
      if (done) break;
      inToken = outToken;
    }
  }
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** The same, decoded into a JS Map<number, bigint>: entries/s. */
function tsBatchDecoded(): number {
  let total = 0;
  const start = process.hrtime.bigint();
  for (let pass = 0; pass < BATCH_PASSES; pass++) {
    const decoded = new Map<number, bigint>();
    for (const batch of big.batches(BATCH_ENTRIES)) {
      const k = new Uint32Array(batch.keys.buffer, batch.keys.byteOffset, batch.count);
      const v = new BigUint64Array(batch.values.buffer, batch.values.byteOffset, batch.count);
      for (let i = 0; i < batch.count; i++) decoded.set(k[i]!, v[i]!);
      total += batch.count;
    }
  }
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
}

// Warm up the JIT before measuring.
tsLookup();
tsLookupInto();
tsUpdate();
tsBatchRaw();
tsBatchDecoded();

const results: Comparison[] = [];
const lookup = await compare('hash map lookup, 1024 entries', 'ops/s', 'higher', {
  'libbpf C': () => runPeer('lookup', ENTRIES, OPS),
  'bpfkit lookup': tsLookup,
  'bpfkit lookupInto': tsLookupInto,
}, ROUNDS);
report(lookup, 'libbpf C');
results.push(lookup);
const update = await compare('hash map update, 1024 entries', 'ops/s', 'higher', {
  'libbpf C': () => runPeer('update', ENTRIES, OPS),
  'bpfkit update': tsUpdate,
}, ROUNDS);
report(update, 'libbpf C');
results.push(update);
const batch = await compare('batch lookup, 100k entries', 'entries/s', 'higher', {
  'libbpf C': () => runPeer('batch', BATCH_ENTRIES, BATCH_PASSES),
  'bpfkit raw buffers': tsBatchRaw,
  'bpfkit decoded': tsBatchDecoded,
}, ROUNDS);
report(batch, 'libbpf C');
results.push(batch);

const figures = {
  lookupRatio: ratio(lookup, 'bpfkit lookup', 'libbpf C'),
  lookupIntoRatio: ratio(lookup, 'bpfkit lookupInto', 'libbpf C'),
  updateRatio: ratio(update, 'bpfkit update', 'libbpf C'),
  batchRawRatio: ratio(batch, 'bpfkit raw buffers', 'libbpf C'),
  batchDecodedRatio: ratio(batch, 'bpfkit decoded', 'libbpf C'),
};
console.log(
  `\nlookup ${figures.lookupRatio.toFixed(2)}x (target 0.7), update ${figures.updateRatio.toFixed(2)}x (0.7), ` +
    `batch raw ${figures.batchRawRatio.toFixed(2)}x (0.8), batch decoded ${figures.batchDecodedRatio.toFixed(2)}x (0.4) of libbpf`,
);
saveResults('kernel-map-ops', { rounds: ROUNDS, entries: ENTRIES, ops: OPS, batchEntries: BATCH_ENTRIES, figures, results });
map.close();
big.close();
rmSync(buildDir, { recursive: true, force: true });
