/** The libbpf oracle (test/fixtures/btf/libbpf-judge.c), compiled on first use into test/.fixtures. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/clang.js';
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

