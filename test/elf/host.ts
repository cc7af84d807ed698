/** Builds host (x86-64) programs for the uprobe/USDT tests with gcc, cached by source hash. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { repoRoot } from '../support/clang.js';

export function compileHost(source: string, options: { shared?: boolean; libs?: string[]; target?: string } = {}): string {
  const src = resolve(repoRoot, source);
  // A cross target (clang only, no linker installed) yields a relocatable object.
  const args = options.target ? ['-target', options.target, '-O1', '-c', src] : ['-O1', ...(options.shared ? ['-shared', '-fPIC'] : []), src];
  const hash = createHash('sha256').update(readFileSync(src)).update(args.join('\0')).digest('hex').slice(0, 16);
  const dir = join(repoRoot, 'test/.fixtures');
  const kind = options.target ?? (options.shared ? 'so' : 'exe');
  const out = join(dir, `${basename(src, '.c')}-${kind}-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(options.target ? 'clang' : 'gcc', [...args, '-o', tmp, ...(options.libs ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(tmp, out);
  return out;
}

/** vmlinux.h from this kernel's BTF, generated once into test/.fixtures (never committed). */
export function vmlinuxDir(): string {
  const dir = join(repoRoot, 'test/.fixtures');
  const header = join(dir, 'vmlinux.h');
  if (!existsSync(header)) {
    mkdirSync(dir, { recursive: true });
    const text = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { maxBuffer: 256 << 20 });
    const tmp = `${header}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, header);
  }
  return dir;
}

