/**
 * The ELF reader on aarch64 host binaries: an executable and a shared library linked
 * here by clang-19 + lld-19. uprobeOffset must name the file offset of a function
 * (judged by llvm-nm + the PT_LOAD headers readelf prints, and by the code bytes
 * llvm-objdump shows there), and USDT notes must match `readelf -n`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../src/elf/elf-file.js';
import { uprobeOffset } from '../../src/elf/uprobe.js';
import { usdtNotes } from '../../src/elf/usdt.js';
import { inCI, repoRoot, run } from '../support/clang.js';
import { join } from 'node:path';
import { mkdirSync, existsSync } from 'node:fs';

function haveLld(): boolean {
  try {
    execFileSync('ld.lld-19', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function link(shared: boolean): string {
  const dir = join(repoRoot, 'test/.fixtures');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `aarch64_host.${shared ? 'so' : 'exe'}`);
  if (!existsSync(out)) {
    execFileSync('clang-19', [
      '--target=aarch64-linux-gnu', '-O1', '-nostdlib', '-fuse-ld=lld', ...(shared ? ['-shared', '-fPIC'] : ['-static']),
      join(repoRoot, 'test/fixtures/elf/aarch64_host.c'), '-o', `${out}.${process.pid}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('mv', [`${out}.${process.pid}`, out]);
  }
  return out;
}

function nmAddress(path: string, symbol: string): number {
  const line = run('llvm-nm-19', [path]).split('\n').find((l) => l.endsWith(` ${symbol}`) && / [Tt] /.test(l));
  if (!line) throw new Error(`llvm-nm: no ${symbol} in ${path}`);
  return parseInt(line.split(' ')[0]!, 16);
}

function loadOffset(path: string, address: number): number {
  for (const m of run('readelf', ['-lW', path]).matchAll(/^\s+LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)/gm)) {
    const [offset, vaddr, filesz] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
    if (address >= vaddr && address < vaddr + filesz) return address - vaddr + offset;
  }
  throw new Error(`no PT_LOAD covers 0x${address.toString(16)}`);
}

/** The instruction word at `address`, as llvm-objdump prints it for aarch64 (one 32-bit hex word). */
function firstWord(path: string, address: number): number {
  const text = run('llvm-objdump-19', ['-d', `--start-address=${address}`, `--stop-address=${address + 4}`, path]);
  const m = /^\s+[0-9a-f]+:\s+([0-9a-f]{8})\s/m.exec(text);
  if (!m) throw new Error(`llvm-objdump printed no code at 0x${address.toString(16)}`);
  return parseInt(m[1]!, 16);
}

describe.skipIf(!inCI && !haveLld())('aarch64 host binaries', () => {
  for (const shared of [false, true]) {
    const kind = shared ? 'shared library' : 'executable';
    it(`${kind}: uprobeOffset agrees with llvm-nm, the program headers and the code bytes`, () => {
      const path = link(shared);
      const bytes = readFileSync(path);
      const elf = parseElf(bytes);
      expect(elf.header.machine).toBe(183); // EM_AARCH64
      for (const symbol of ['traced_add', 'traced_twice']) {
        const offset = uprobeOffset(elf, symbol);
        const address = nmAddress(path, symbol);
        expect(offset, symbol).toBe(loadOffset(path, address));
        expect(bytes.readUInt32LE(offset), symbol).toBe(firstWord(path, address));
      }
    });

    it(`${kind}: USDT notes agree with readelf -n`, () => {
      const path = link(shared);
      const notes = usdtNotes(parseElf(readFileSync(path)));
      const text = run('readelf', ['-nW', path]);
      const location = parseInt(/Location: 0x([0-9a-f]+)/.exec(text)![1]!, 16);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatchObject({ provider: 'demo', name: 'add', args: '-4@x0 -4@x1' });
      expect(Number(notes[0]!.pc)).toBe(location);
      expect(readFileSync(path).readUInt32LE(notes[0]!.pcOffset)).toBe(firstWord(path, location));
    });
  }
});
