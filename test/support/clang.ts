/**
 * Compiles eBPF C test fixtures with Debian's clang, caching objects under
 * test/.fixtures by a hash of the source, flags and compiler. clang 14 builds
 * -mcpu=v1..v3, clang-19 builds v4 (clang 14 has no v4).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = join(repoRoot, 'test/.fixtures');

export type Cpu = 'v1' | 'v2' | 'v3' | 'v4';

export interface CompileOptions {
  cpu?: Cpu;
  /** Compiler binary; default clang for v1-v3, clang-19 for v4. */
  clang?: string;
  /** -g for BTF and line info (default true). */
  debug?: boolean;
  /** Optimisation level (default 2). */
  opt?: 0 | 1 | 2;
  /** Extra -D / -I flags. */
  flags?: string[];
  /** Big-endian target (bpfeb). */
  bigEndian?: boolean;
}

/** Is clang for this cpu installed? Under CI it must be: report true so a missing one fails loudly. */
export function haveClang(cpu: Cpu = 'v3'): boolean {
  if (process.env.CI === 'true') return true;
  try {
    execFileSync(cpu === 'v4' ? 'clang-19' : 'clang', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Compile `source` (a path, relative to the repo root or absolute) and return the object's path. */
export function compileBpf(source: string, options: CompileOptions = {}): string {
  const cpu = options.cpu ?? 'v3';
  const clang = options.clang ?? (cpu === 'v4' ? 'clang-19' : 'clang');
  const src = resolve(repoRoot, source);
  const args = [
    '-target',
    options.bigEndian ? 'bpfeb' : 'bpfel',
    `-mcpu=${cpu}`,
    `-O${options.opt ?? 2}`,
    ...(options.debug === false ? [] : ['-g']),
    '-I/usr/include/x86_64-linux-gnu',
    `-I${dirname(src)}`,
    ...(options.flags ?? []),
    '-c',
    src,
  ];
  const hash = createHash('sha256').update(readFileSync(src)).update(clang).update(args.join('\0'));
  for (const h of headersNextTo(src)) hash.update(readFileSync(h));
  const out = join(cacheDir, `${basename(src, '.c')}-${cpu}-${hash.digest('hex').slice(0, 16)}.o`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(clang, [...args, '-o', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(tmp, out); // atomic: parallel test files may compile the same fixture
  return out;
}

function headersNextTo(src: string): string[] {
  const text = readFileSync(src, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/#include\s+"([^"]+)"/g)) {
    const p = join(dirname(src), m[1]!);
    if (existsSync(p)) out.push(p);
  }
  return out;
}

/** Run a tool and return its stdout (throws with stderr on failure). */
export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Kernel tests must run under CI=true; elsewhere they may skip when bpf() is unavailable. */
export const inCI = process.env.CI === 'true';

/** The bpf_conformance suite: ../shared/conformance beside the checkout (BPFKIT_CONFORMANCE_DIR overrides). */
export const conformanceRoot = process.env.BPFKIT_CONFORMANCE_DIR ?? resolve(repoRoot, '../shared/conformance');
