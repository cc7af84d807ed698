/**
 * Loading an object whose verification dominates (test/kernel/fixtures/heavy.c: three
 * programs of ~72k verified instructions each): bpfkit's in-process time (ELF parse +
 * loadCollection) against `bpftool prog loadall` on the same object (its whole run, as a
 * user would see it). Target: within 1.2x of bpftool. Interleaved rounds, medians; raw
 * samples in bench/results/kernel-load.json.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { loadObjectSpec } from '../src/elf/load-object.js';
import { loadCollection } from '../src/kernel/collection.js';
import { compileBpf } from '../test/support/clang.js';
import { compare, ratio, report, saveResults } from './lib/measure.js';

const ROUNDS = Number(process.env.ROUNDS ?? 11);
const object = compileBpf('test/kernel/fixtures/heavy.c');
const bytes = readFileSync(object);
const pinDir = `/sys/fs/bpf/bpfkit-bench-load-${process.pid}`;

function bpfkit(): number {
  const start = process.hrtime.bigint();
  const coll = loadCollection(loadObjectSpec(bytes));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  coll.close();
  return ms;
}

function bpftool(): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('bpftool', ['prog', 'loadall', object, pinDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(pinDir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`bpftool prog loadall failed: ${r.stderr}`);
  return ms;
}

try {
  bpfkit();
  bpftool();
  const load = await compare('load a verification-heavy object', 'ms', 'lower', { 'bpftool prog loadall': bpftool, bpfkit: bpfkit }, ROUNDS);
  report(load, 'bpftool prog loadall');
  const figure = ratio(load, 'bpfkit', 'bpftool prog loadall');
  console.log(`\nbpfkit load time ${figure.toFixed(2)}x of bpftool (target at most 1.2x)`);
  saveResults('kernel-load', { rounds: ROUNDS, object, figure, load });
} finally {
  rmSync(pinDir, { recursive: true, force: true });
}
