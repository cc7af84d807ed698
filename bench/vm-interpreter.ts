/**
 * The vm's time on CPU-bound programs (test/fixtures/vm/bench.c): prime counting below
 * 10 000, a 1 KiB copy, a switch-heavy 64-byte parser, 64 hash lookups with atomic
 * increments — for each tier (the interpreter, and the JavaScript tier). Prints the median
 * ns per run, from `samples` interleaved runs of `repeat` executions each, and writes the
 * raw samples to bench/results/vm-interpreter.json.
 *
 *   node --import ./scripts/ts-loader.mjs bench/vm-interpreter.ts [--samples N] [--tier interpreter|js]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadObjectSpec } from '../src/elf/load-object.js';
import { createVmCollection } from '../src/vm/collection.js';
import { compileBpf, repoRoot } from '../test/support/clang.js';

export interface BenchCase {
  program: string;
  /** Executions per sample (BPF_PROG_TEST_RUN's repeat). */
  repeat: number;
  /** Expected retval, so a broken program cannot produce a fast number. */
  retval: number;
}

export const CASES: BenchCase[] = [
  { program: 'count_primes', repeat: 5, retval: 2 },
  { program: 'copy_1k', repeat: 2000, retval: 2 },
  { program: 'parse_64', repeat: 2000, retval: -1 },
  { program: 'hash_64', repeat: 500, retval: 2 },
];

/** The packet every case runs on: 1500 bytes of a fixed pattern. */
export function benchPacket(): Uint8Array {
  const p = new Uint8Array(1500);
  for (let i = 0; i < p.length; i++) p[i] = (i * 131 + 7) & 0xff;
  return p;
}

type Tier = 'interpreter' | 'js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function main(): void {
  const samplesArg = process.argv.indexOf('--samples');
  const samples = samplesArg > 0 ? Number(process.argv[samplesArg + 1]) : 15;
  const tierArg = process.argv.indexOf('--tier');
  const tiers = tierArg > 0 ? [process.argv[tierArg + 1] as Tier] : (['interpreter', 'js'] as Tier[]);
  const spec = loadObjectSpec(readFileSync(compileBpf('test/fixtures/vm/bench.c', { cpu: 'v3' })));
  const data = benchPacket();
  const colls = tiers.map((tier) => {
    const coll = createVmCollection(spec, { tier });
    const hits = coll.map('hits');
    for (let i = 0; i < 64; i++) hits.update(new Uint8Array(new Uint32Array([i]).buffer), new Uint8Array(8));
    return { tier, coll };
  });
  const raw: Record<string, number[]> = {};
  // Warm up every program first (checking its result), then interleave tiers and cases sample by sample.
  for (const { tier, coll } of colls) {
    for (const c of CASES) {
      const r = coll.program(c.program).testRun({ data, repeat: c.repeat });
      if (c.retval >= 0 && r.retval !== c.retval) throw new Error(`${c.program} (${tier}) returned ${r.retval}, expected ${c.retval}`);
      raw[`${tier}/${c.program}`] = [];
    }
  }
  for (let s = 0; s < samples; s++) {
    for (const c of CASES) for (const { tier, coll } of colls) raw[`${tier}/${c.program}`]!.push(coll.program(c.program).testRun({ data, repeat: c.repeat }).durationNs);
  }
  for (const c of CASES) {
    const cols = colls.map(({ tier }) => `${tier} ${median(raw[`${tier}/${c.program}`]!).toFixed(0).padStart(10)} ns`);
    console.log(`${c.program.padEnd(14)} ${cols.join('   ')}   (median of ${samples} x ${c.repeat})`);
  }
  const dir = join(repoRoot, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vm-interpreter.json'), JSON.stringify({ node: process.version, samples: raw }, null, 2));
  for (const { coll } of colls) coll.close();
}

if (process.argv[1]?.endsWith('vm-interpreter.ts')) main();
