/**
 * Test helpers for the BTF layer: compile fixtures, pull .BTF/.BTF.ext out of objects
 * with llvm-objcopy (the tool is the reference, not our ELF reader), and run bpftool.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { repoRoot, run } from '../support/clang.js';

export const cacheDir = join(repoRoot, 'test/.fixtures');
export const VMLINUX = '/sys/kernel/btf/vmlinux';

/** Dump one section of an object into a cached file; undefined when the section is absent. */
export function dumpSection(obj: string, section: string): Uint8Array | undefined {
  mkdirSync(cacheDir, { recursive: true });
  // Keyed by content: committed objects change when rebuilt, compiled fixtures by name.
  const hash = createHash('sha256').update(readFileSync(obj)).digest('hex').slice(0, 12);
  const out = join(cacheDir, `${basename(obj, '.o')}-${hash}${section.replace(/[^A-Za-z0-9]/g, '_')}.bin`);
  if (!existsSync(out)) {
    const sections = run('llvm-readelf', ['-S', '-W', obj]);
    if (!sections.includes(` ${section} `)) return undefined;
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync('llvm-objcopy', [`--dump-section=${section}=${tmp}`, obj, `${tmp}.o`], { stdio: 'ignore' });
    renameSync(tmp, out);
  }
  return new Uint8Array(readFileSync(out));
}

/** The `.BTF` bytes of an object, as a file bpftool can read; returns both path and bytes. */
export function btfOf(obj: string): { path: string; bytes: Uint8Array } {
  const bytes = dumpSection(obj, '.BTF');
  if (!bytes) throw new Error(`${obj} has no .BTF`);
  const hash = createHash('sha256').update(readFileSync(obj)).digest('hex').slice(0, 12);
  return { path: join(cacheDir, `${basename(obj, '.o')}-${hash}_BTF.bin`), bytes };
}

/** `bpftool btf dump file FILE format c`. */
export function bpftoolDumpC(file: string): string {
  return run('bpftool', ['btf', 'dump', 'file', file, 'format', 'c']);
}

/** A generated vmlinux.h in test/.fixtures (never committed), for CO-RE fixtures. */
export function vmlinuxHeaderDir(): string {
  const dir = join(cacheDir, 'vmlinux-h');
  const file = join(dir, 'vmlinux.h');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bpftoolDumpC(VMLINUX));
    renameSync(tmp, file);
  }
  return dir;
}

/** Deterministic PRNG (mulberry32) for fuzzing and sampling. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
