/** The libbpf oracle (test/fixtures/btf/libbpf-judge.c), compiled on first use into test/.fixtures. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inCI, repoRoot } from '../support/clang.js';
import { cacheDir } from './support.js';

/** Build the libbpf harness (test-only oracle) into test/.fixtures. */
export function libbpfJudge(): string {
  const src = join(repoRoot, 'test/fixtures/btf/libbpf-judge.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const out = join(cacheDir, `libbpf-judge-${hash}`);
  if (!existsSync(out)) {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync('cc', ['-O1', '-o', tmp, src, '-lbpf', '-lelf', '-lz'], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(tmp, out);
  }
  return out;
}


let usable: boolean | undefined;

/**
 * May this process use bpf() (root or CAP_BPF)? Probed by loading a one-type BTF through
 * the judge. Kernel-backed tests skip without it, except under CI=true where they must run.
 */
export function bpfUsable(): boolean {
  if (usable === undefined) {
    if (inCI) return (usable = true);
    const file = join(cacheDir, `probe-${process.pid}.btf`);
    // header (24) + one INT "a" (16) + strings "\0a\0"
    const bytes = Buffer.alloc(24 + 16 + 3);
    bytes.writeUInt16LE(0xeb9f, 0);
    bytes[2] = 1;
    bytes.writeUInt32LE(24, 4);
    bytes.writeUInt32LE(0, 8);
    bytes.writeUInt32LE(16, 12);
    bytes.writeUInt32LE(16, 16);
    bytes.writeUInt32LE(3, 20);
    bytes.writeUInt32LE(1, 24);
    bytes.writeUInt32LE(0x01000000, 28);
    bytes.writeUInt32LE(4, 32);
    bytes.writeUInt32LE(32, 36);
    bytes[41] = 0x61;
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(file, bytes);
    try {
      usable = spawnSync(libbpfJudge(), ['btf-load', file], { encoding: 'utf8' }).stdout.startsWith('ok');
    } finally {
      rmSync(file, { force: true });
    }
  }
  return usable;
}
