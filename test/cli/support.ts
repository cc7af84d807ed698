/**
 * Helpers for the CLI tests: run `bpfkit` in-process with its output captured, ask
 * bpftool (the judge) for JSON, compile the fixtures, and per-test bpffs directories
 * that are always removed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compileBpf } from '../support/clang.js';

export { bpfkit, type CliResult } from '../support/cli.js';
import { bpfkit } from '../support/cli.js';

/** `bpfkit ARGS... --json`, which must succeed, parsed. */
export async function bpfkitJson<T = any>(...args: string[]): Promise<T> {
  const r = await bpfkit(...args, '--json');
  if (r.code !== 0) throw new Error(`bpfkit ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** `bpftool -j ARGS...`, parsed. */
export function bpftool<T = any>(...args: string[]): T {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })) as T;
}

/** The CLI fixtures, compiled. */
export const fixtures = {
  objects: () => compileBpf('test/fixtures/cli/cli_objects.bpf.c'),
  rejected: () => compileBpf('test/fixtures/cli/cli_rejected.bpf.c'),
};

let dirs = 0;

/** A fresh, empty directory /sys/fs/bpf/bpfkit-test-PID-N-NAME (mounting bpffs if needed); remove() unlinks every pin in it. */
export function pinDir(name: string): { path: string; remove(): void } {
  if (!existsSync('/sys/fs/bpf')) mkdirSync('/sys/fs/bpf', { recursive: true });
  if (spawnSync('mountpoint', ['-q', '/sys/fs/bpf']).status !== 0) execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  const path = `/sys/fs/bpf/bpfkit-test-${process.pid}-${dirs++}-${name}`;
  mkdirSync(path);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Path of a pin inside a pin directory. */
export const pinned = (dir: { path: string }, name: string) => join(dir.path, name);
