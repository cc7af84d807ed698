/**
 * Decoded against raw lookups on a kernel hash map: what the BTF codecs cost per element.
 * Keys are a `struct flow_key { u32 id; u16 port; u8 proto; }` (with padding) and values a
 * 24-byte struct of counters; the raw contenders use ready-made key bytes, the typed ones
 * encode a key object and decode a value object each time; whole-map batch reads compare
 * raw batches with decoded ones. Rounds are interleaved,
 * medians reported, raw samples saved to bench/results/typed-map.json.
 */
import { TypedMap } from '../src/api/typed-map.js';
import { BtfBuilder } from '../src/btf/builder.js';
import { IntEncoding } from '../src/btf/kinds.js';
import { createMap } from '../src/kernel/map-create.js';
import { compare, ratio, report, saveResults, type Comparison } from './lib/measure.js';

const ENTRIES = 1024;
const OPS = 300_000;
const ROUNDS = Number(process.env.ROUNDS ?? 11);

interface FlowKey {
  id: number;
  port: number;
  proto: number;
}
interface FlowValue {
  packets: bigint;
  bytes: bigint;
  saddr: number;
  port: number;
  proto: number;
  seen: boolean;
}

const b = new BtfBuilder();
const u8 = b.int('unsigned char', 1);
const u16 = b.int('unsigned short', 2);
const u32 = b.int('unsigned int', 4);
const u64 = b.int('unsigned long long', 8);
const bool = b.add({ kind: 'int', name: '_Bool', size: 1, encoding: IntEncoding.BOOL, bitOffset: 0, bits: 8 });
const keyId = b.struct('flow_key', 8, [
  { name: 'id', type: u32, bitOffset: 0 },
  { name: 'port', type: u16, bitOffset: 32 },
  { name: 'proto', type: u8, bitOffset: 48 },
]);
const valueId = b.struct('flow_value', 24, [
  { name: 'packets', type: u64, bitOffset: 0 },
  { name: 'bytes', type: u64, bitOffset: 64 },
  { name: 'saddr', type: u32, bitOffset: 128 },
  { name: 'port', type: u16, bitOffset: 160 },
  { name: 'proto', type: u8, bitOffset: 176 },
  { name: 'seen', type: bool, bitOffset: 184 },
]);
const btf = b.build();

const map = createMap({ type: 'HASH', name: 'typed_bench', keySize: 8, valueSize: 24, maxEntries: ENTRIES });
const flows = TypedMap.fromBtf<FlowKey, FlowValue>(map, btf, keyId, valueId);
const keyObjects: FlowKey[] = Array.from({ length: ENTRIES }, (_, i) => ({ id: i, port: 1000 + (i % 100), proto: i & 1 ? 6 : 17 }));
for (const [i, k] of keyObjects.entries()) flows.set(k, { packets: BigInt(i), bytes: BigInt(i) * 1500n, saddr: 0x0a000001 + i, port: k.port, proto: k.proto, seen: true });
const keyBytes = keyObjects.map((k) => flows.keyCodec.encode(k));
const out = new Uint8Array(24);

function timed(body: () => number): number {
  const start = process.hrtime.bigint();
  const sink = body();
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink === -1) console.log(sink);
  return OPS / secs;
}

const rawLookup = () =>
  timed(() => {
    let sink = 0;
    for (let i = 0; i < OPS; i++) sink += map.lookup(keyBytes[i % ENTRIES]!)![0]!;
    return sink;
  });
const rawLookupInto = () =>
  timed(() => {
    let sink = 0;
    for (let i = 0; i < OPS; i++) {
      map.lookupInto(keyBytes[i % ENTRIES]!, out);
      sink += out[0]!;
    }
    return sink;
  });
const typedGet = () =>
  timed(() => {
    let sink = 0;
    for (let i = 0; i < OPS; i++) sink += flows.get(keyObjects[i % ENTRIES]!)!.saddr;
    return sink;
  });
const rawUpdate = () =>
  timed(() => {
    const value = new Uint8Array(24);
    for (let i = 0; i < OPS; i++) {
      value[0] = i & 0xff;
      map.update(keyBytes[i % ENTRIES]!, value);
    }
    return 0;
  });
const typedSet = () =>
  timed(() => {
    for (let i = 0; i < OPS; i++) {
      const k = keyObjects[i % ENTRIES]!;
      flows.set(k, { packets: BigInt(i), bytes: 1500n, saddr: i, port: k.port, proto: k.proto, seen: true });
    }
    return 0;
  });

/** Whole-map passes with batch lookups: raw bytes against decoded objects, entries/s. */
const BATCH_PASSES = 50;
const rawBatches = () => {
  const start = process.hrtime.bigint();
  let total = 0;
  for (let pass = 0; pass < BATCH_PASSES; pass++) for (const batch of map.batches(ENTRIES)) total += batch.count + (batch.values[0]! & 0);
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
};
const typedBatches = () => {
  const start = process.hrtime.bigint();
  let total = 0;
  for (let pass = 0; pass < BATCH_PASSES; pass++) for (const [, v] of flows.entriesBatched(ENTRIES)) total += v.seen ? 1 : 0;
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
};

// Warm up the JIT before measuring.
for (const f of [rawLookup, rawLookupInto, typedGet, rawUpdate, typedSet, rawBatches, typedBatches]) f();

const results: Comparison[] = [];
const lookup = await compare('hash map lookup, 1024 entries, 8-byte struct key, 24-byte struct value', 'ops/s', 'higher', {
  'raw lookup': rawLookup,
  'raw lookupInto': rawLookupInto,
  'typed get (encode + decode)': typedGet,
}, ROUNDS);
report(lookup, 'raw lookup');
results.push(lookup);
const update = await compare('hash map update, same map', 'ops/s', 'higher', {
  'raw update': rawUpdate,
  'typed set (encode)': typedSet,
}, ROUNDS);
report(update, 'raw update');
results.push(update);

const batch = await compare('batch lookup of the whole map', 'entries/s', 'higher', {
  'raw batches': rawBatches,
  'typed entriesBatched (decode)': typedBatches,
}, ROUNDS);
report(batch, 'raw batches');
results.push(batch);

const figures = {
  typedBatchVsRawBatch: ratio(batch, 'typed entriesBatched (decode)', 'raw batches'),
  typedGetVsRawLookup: ratio(lookup, 'typed get (encode + decode)', 'raw lookup'),
  typedGetVsRawLookupInto: ratio(lookup, 'typed get (encode + decode)', 'raw lookupInto'),
  typedSetVsRawUpdate: ratio(update, 'typed set (encode)', 'raw update'),
};
console.log(
  `\ntyped get ${figures.typedGetVsRawLookup.toFixed(2)}x of raw lookup (${figures.typedGetVsRawLookupInto.toFixed(2)}x of lookupInto), ` +
    `typed set ${figures.typedSetVsRawUpdate.toFixed(2)}x of raw update, typed batch ${figures.typedBatchVsRawBatch.toFixed(2)}x of raw batch`,
);
saveResults('typed-map', { rounds: ROUNDS, entries: ENTRIES, ops: OPS, figures, results });
map.close();
