/** Runs test/fixtures/elf/libbpf_dump.c (Debian's libbpf, open only) on an object. */
import { execFileSync } from 'node:child_process';
import { compileHost } from './host.js';

export interface LibbpfProgram {
  program: string;
  section: string;
  type: number;
  attach: number;
  insns: number;
  autoload: boolean;
}
export interface LibbpfMap {
  map: string;
  type: number;
  key: number;
  value: number;
  max: number;
  flags: number;
  numa: number;
  extra: number;
  pinned: boolean;
  internal: boolean;
  inner?: { type: number; key: number; value: number; max: number };
  init?: string;
}

export function libbpfView(path: string): { programs: LibbpfProgram[]; maps: LibbpfMap[] } {
  const tool = compileHost('test/fixtures/elf/libbpf_dump.c', { libs: ['-lbpf'] });
  const lines = execFileSync(tool, [path], { encoding: 'utf8' }).trim().split('\n');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    programs: parsed.filter((p) => 'program' in p) as unknown as LibbpfProgram[],
    maps: parsed.filter((p) => 'map' in p) as unknown as LibbpfMap[],
  };
}
