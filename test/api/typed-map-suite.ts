/**
 * The typed-map test, written once against the backend-neutral API and run on both
 * backends: a program (test/fixtures/value/typed_maps.c) fills maps with values computed
 * in C; the same values are computed here and compared with what the codecs decode.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { typedMap, typedRecords, type TypedMap } from '../../src/api/typed-map.js';
import type { Collection, RecordReader } from '../../src/api/types.js';
import { BtfValueError } from '../../src/btf/value/errors.js';
import { recordDecoder } from '../../src/btf/value/record-decoder.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { objectCodec } from '../../src/api/typed-map.js';
import { compileBpf } from '../support/clang.js';

export interface FlowKey {
  id: number;
  port: number;
  proto: number;
}

export interface FlowStats {
  bytes: bigint;
  delta: bigint;
  small: number;
  name: string;
  pairs: Array<{ lo: number; hi: number }>;
  u: { word: number; octets: Uint8Array };
  anon_a: number;
  anon_b: number;
  f1: number;
  f2: number;
  f3: number;
  f4: bigint;
  kind: 'TCP' | 'UDP' | number;
  even: boolean;
}

export const FLOWS = 8;

export function expectedKey(i: number): FlowKey {
  return { id: i, port: 1000 + i, proto: i & 1 ? 6 : 17 };
}

/** What fill() in typed_maps.c stores for flow i, computed independently. */
export function expectedStats(i: number): FlowStats {
  const word = (0x01020304 * (i + 1)) >>> 0;
  return {
    bytes: BigInt(i) * 0x100000001n + 7n,
    delta: -BigInt(i) * 3000000000n,
    small: 200 + i,
    name: `flow-${i}`,
    pairs: [0, 1, 2].map((j) => ({ lo: i * 100 + j, hi: -(i * 100 + j) || 0 })),
    u: { word, octets: new Uint8Array([word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24]) },
    anon_a: i * i,
    anon_b: 65535 - i,
    f1: i,
    f2: 500 + i,
    f3: i - 8,
    f4: (1n << 39n) + BigInt(i),
    kind: i & 1 ? 'TCP' : 'UDP',
    even: (i & 1) === 0,
  };
}

export function typedMapsSpec(): ObjectSpec {
  return loadObjectSpec(readFileSync(compileBpf('test/fixtures/value/typed_maps.c')));
}

export interface Loaded {
  collection: Collection;
  /** A reader of the `events` ring buffer, created before the program runs. */
  events: RecordReader;
  /** Number of CPUs per-CPU maps keep values for. */
  cpus: number;
}

const options = { charArraysAsStrings: true, enumNames: true };

/** Register the shared tests; `load` loads the spec into one backend. */
export function typedMapTests(load: (spec: ObjectSpec) => Loaded): void {
  const run = () => {
    const spec = typedMapsSpec();
    const loaded = load(spec);
    loaded.collection.program('fill').testRun({ data: new Uint8Array(64) });
    const flows: TypedMap<FlowKey, FlowStats> = typedMap(loaded.collection, 'flows', spec, options);
    return { spec, ...loaded, flows };
  };

  it('decodes every value the program wrote to what the test computes', () => {
    const { collection, events, flows } = run();
    using _c = collection;
    using _e = events;
    const entries = [...flows.entries()].sort(([a], [b]) => a.id - b.id);
    expect(entries).toHaveLength(FLOWS);
    for (let i = 0; i < FLOWS; i++) {
      expect(entries[i]![0]).toEqual(expectedKey(i));
      expect(entries[i]![1]).toEqual(expectedStats(i));
      // An encoded key (padding zeroed) hashes to the same element the program created.
      expect(flows.get(expectedKey(i))).toEqual(expectedStats(i));
      expect(flows.has(expectedKey(i))).toBe(true);
    }
    expect(flows.get({ id: 99, port: 1, proto: 6 })).toBeUndefined();
    // Batched reads (BPF_MAP_LOOKUP_BATCH in the kernel, one by one elsewhere) see the same.
    const batched = [...flows.entriesBatched(3)].sort(([a], [b]) => a.id - b.id);
    expect(batched).toEqual(entries);
    expect(flows.raw).toBe(collection.map('flows'));
  });

  it('round trips byte-exactly through the layout C wrote, and writes what it reads', () => {
    const { collection, events, flows } = run();
    using _c = collection;
    using _e = events;
    for (const [k, raw] of flows.raw.entries()) {
      expect(flows.keyCodec.encode(flows.keyCodec.decode(k))).toEqual(k);
      expect(flows.valueCodec.encode(flows.valueCodec.decode(raw))).toEqual(raw);
    }
    const changed: FlowStats = { ...expectedStats(3), name: 'renamed', f3: 15, f4: (1n << 40n) - 1n, kind: 'UDP', pairs: [{ lo: 1, hi: -2 }, { lo: 3, hi: -4 }, { lo: 65535, hi: -32768 }] };
    flows.set(expectedKey(3), changed);
    expect(flows.get(expectedKey(3))).toEqual(changed);
    expect(flows.delete(expectedKey(3))).toBe(true);
    expect(flows.delete(expectedKey(3))).toBe(false);
    expect([...flows.keys()]).toHaveLength(FLOWS - 1);
    expect([...flows.values()].map((v) => v.name).sort()).toEqual([0, 1, 2, 4, 5, 6, 7].map((i) => `flow-${i}`));
  });

  it('per-CPU values are arrays with one value per CPU', () => {
    const { spec, collection, events, cpus } = run();
    using _c = collection;
    using _e = events;
    const perCpu = typedMap<number, Array<{ hits: bigint; cpu: number }>>(collection, 'per_cpu', spec);
    expect(perCpu.perCpu).toBe(true);
    const values = perCpu.get(0)!;
    expect(values).toHaveLength(cpus);
    // The program ran once, on one CPU, and wrote that CPU's number into its own slot.
    const hit = values.findIndex((v) => v.hits === 1n);
    expect(hit).toBeGreaterThanOrEqual(0);
    expect(values[hit]).toEqual({ hits: 1n, cpu: hit });
    expect(values.filter((v) => v.hits !== 0n)).toHaveLength(1);

    const mine = Array.from({ length: cpus }, (_, c) => ({ hits: BigInt(c * 10 + 1), cpu: c }));
    perCpu.set(1, mine);
    expect(perCpu.get(1)).toEqual(mine);
    expect(() => perCpu.set(1, mine.slice(1))).toThrow(/per-CPU: pass an array of \d+ values/);
  });

  it('skips the spin lock of a locked value, or marks it when asked', () => {
    const { spec, collection, events } = run();
    using _c = collection;
    using _e = events;
    const locked = typedMap<number, { total: bigint }>(collection, 'locked', spec);
    expect(locked.get(0)).toEqual({ total: 5n });
    locked.set(0, { total: 100n });
    expect(locked.get(0)).toEqual({ total: 100n });
    const marked = typedMap(collection, 'locked', spec, { markSpecialFields: true });
    expect(marked.get(0)).toEqual({ lock: { special: 'bpf_spin_lock' }, total: 100n });
  });

  it('global data sections decode as objects of their variables', () => {
    const { spec, collection, events } = run();
    using _c = collection;
    using _e = events;
    const bss = typedMap<number, { runs: bigint; unused_event: bigint }>(collection, '.bss', spec);
    expect(bss.get(0)).toEqual({ runs: 8n, unused_event: 0n });
    expect(typedMap(collection, '.rodata', spec).get(0)).toEqual({ flow_count: 8 });
    bss.set(0, { runs: 100n, unused_event: 0n });
    collection.program('fill').testRun({ data: new Uint8Array(64) });
    expect(bss.get(0)!.runs).toBe(108n);
  });

  it('decodes ring buffer records through their BTF type', () => {
    const { spec, collection, events } = run();
    using _c = collection;
    using _e = events;
    const decode = recordDecoder(objectCodec(spec, options), 'event');
    const records = events.drain();
    expect(records).toHaveLength(1);
    expect(decode(records[0]!)).toEqual({ seq: 42, neg: -42, comm: 'abc', big: 1n << 40n });
  });

  it('iterates ring buffer records decoded (typedRecords)', async () => {
    const { spec, collection, events } = run();
    using _c = collection;
    using _e = events;
    for await (const event of typedRecords(events, spec, 'event', options)) {
      expect(event).toEqual({ seq: 42, neg: -42, comm: 'abc', big: 1n << 40n });
      break;
    }
  });

  it('refuses values that do not fit, naming the path', () => {
    const { collection, events, flows } = run();
    using _c = collection;
    using _e = events;
    const bad = (patch: Partial<FlowStats>) => {
      try {
        flows.set(expectedKey(0), { ...expectedStats(0), ...patch });
      } catch (error) {
        return error as BtfValueError;
      }
      throw new Error('no error');
    };
    const pairs = expectedStats(0).pairs;
    pairs[1] = { lo: 70000, hi: 0 };
    let e = bad({ pairs });
    expect(e).toBeInstanceOf(BtfValueError);
    expect(e.message).toBe('value.pairs[1].lo: 70000 does not fit u16');
    e = bad({ f3: 16 });
    expect(e.message).toBe('value.f3: 16 does not fit 5-bit signed bitfield');
    e = bad({ name: 'a name much too long' });
    expect(e.path).toBe('value.name');
    e = bad({ kind: 'SCTP' as FlowStats['kind'] });
    expect(e.message).toMatch(/^value\.kind: "SCTP" is not a member of enum proto \(members: TCP, UDP\)/);
    e = bad({ bytes: 1.5 as unknown as bigint });
    expect(e.message).toBe('value.bytes: expected an integer (u64), got 1.5');
    expect(() => flows.set({ id: 1, proto: 6 } as FlowKey, expectedStats(0))).toThrow('key.port: missing member of struct flow_key');
    // Nothing was written by the failed updates.
    expect(flows.get(expectedKey(0))).toEqual(expectedStats(0));
  });
}
