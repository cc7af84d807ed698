/**
 * Benchmark measurement: interleaved A/B rounds, medians, ratios, raw samples saved.
 * Machines are noisy, so every comparison alternates its contenders round by round
 * (A B A B …, the order flipped every other round) and reports medians, never means.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const resultsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../results');

/** One contender: returns one sample (the unit is the caller's: ns/op, ops/s, …). */
export type Sampler = () => number | Promise<number>;

export interface Comparison {
  name: string;
  unit: string;
  /** Higher is better (throughput) or lower is better (latency/time). */
  better: 'higher' | 'lower';
  samples: Record<string, number[]>;
  medians: Record<string, number>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Run every contender `rounds` times, interleaved, and return their samples and medians. */
export async function compare(
  name: string,
  unit: string,
  better: 'higher' | 'lower',
  contenders: Record<string, Sampler>,
  rounds = 15,
): Promise<Comparison> {
  const names = Object.keys(contenders);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) samples[n]!.push(await contenders[n]!());
  }
  const medians = Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
  return { name, unit, better, samples, medians };
}

/** "a/b" ratio of medians. */
export function ratio(c: Comparison, a: string, b: string): number {
  return c.medians[a]! / c.medians[b]!;
}

/** Print a comparison as a small table and return the text. */
export function report(c: Comparison, baseline?: string): string {
  const lines = [`${c.name} (${c.unit}, median of ${Object.values(c.samples)[0]?.length ?? 0} interleaved rounds, ${c.better} is better)`];
  for (const [n, m] of Object.entries(c.medians)) {
    const rel = baseline && n !== baseline ? `  ${(m / c.medians[baseline]!).toFixed(3)}x of ${baseline}` : '';
    lines.push(`  ${n.padEnd(28)} ${formatNumber(m).padStart(14)}${rel}`);
  }
  const text = lines.join('\n');
  console.log(text);
  return text;
}

function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(4);
}

/** Write raw samples and medians to bench/results/<file>.json. Returns the path. */
/**
 * One-sided sign test over paired samples: the probability of seeing `b` below `a` in at
 * least as many pairs as observed if neither were really lower (ties count for neither).
 * Small (below 0.05) means b is lower for real, not by the machine's noise.
 */
export function signTestLower(a: readonly number[], b: readonly number[]): { lower: number; pairs: number; p: number } {
  let lower = 0;
  let pairs = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    pairs++;
    if (b[i]! < a[i]!) lower++;
  }
  let p = 0;
  let choose = 1; // C(pairs, k), built up from k = 0
  for (let k = 0; k <= pairs; k++) {
    if (k >= lower) p += choose / 2 ** pairs;
    choose = (choose * (pairs - k)) / (k + 1);
  }
  return { lower, pairs, p };
}

export function saveResults(file: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${file}.json`);
  writeFileSync(path, JSON.stringify({ date: new Date().toISOString(), data }, null, 2));
  console.log(`raw samples: ${path}`);
  return path;
}
