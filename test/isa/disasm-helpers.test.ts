/**
 * The helper table (src/uapi/helpers.ts) against the sources of truth on this machine:
 * the running kernel's BTF (`enum bpf_func_id`, read with bpftool) and libbpf's
 * bpf_helper_defs.h (Debian's libbpf-dev).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_HELPER_ID, helperId, helperName, helpers } from '../../src/uapi/index.js';

const HELPER_DEFS = '/usr/include/bpf/bpf_helper_defs.h';

function kernelHelpers(): Map<number, string> | undefined {
  try {
    const c = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      encoding: 'utf8',
      maxBuffer: 512 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const out = new Map<number, string>();
    for (const m of c.matchAll(/^\s+BPF_FUNC_([a-z0-9_]+) = (\d+),$/gm)) out.set(Number(m[2]), `bpf_${m[1]}`);
    return out.size > 0 ? out : undefined;
  } catch {
    return undefined;
  }
}

describe('helper ids and names', () => {
  it('looks up both ways, with or without the bpf_ prefix', () => {
    expect(helperName(1)).toBe('bpf_map_lookup_elem');
    expect(helperId('bpf_map_lookup_elem')).toBe(1);
    expect(helperId('map_lookup_elem')).toBe(1);
    expect(helperName(0)).toBeUndefined();
    expect(helperName(MAX_HELPER_ID + 1)).toBeUndefined();
    expect(helperName(-1)).toBeUndefined();
    expect(helperName(1.5)).toBeUndefined();
    expect(helperId('unspec')).toBeUndefined();
    expect(helperId('bpf_no_such_helper')).toBeUndefined();
    for (const [id, name] of helpers()) expect(helperId(name)).toBe(id);
  });

  it.skipIf(!existsSync(HELPER_DEFS))("equals libbpf's bpf_helper_defs.h", () => {
    const text = readFileSync(HELPER_DEFS, 'utf8');
    const defs = [...text.matchAll(/\(\*(bpf_[a-z0-9_]+)\)\(.*\) = \(void \*\) (\d+);/g)].map((m) => [Number(m[2]), m[1]!] as [number, string]);
    expect(defs.length).toBeGreaterThan(200);
    expect(helpers()).toEqual(defs.sort((a, b) => a[0] - b[0]));
  });

  const kernel = kernelHelpers();
  it.skipIf(kernel === undefined)("equals the running kernel's enum bpf_func_id", () => {
    const expected = [...kernel!].filter(([id]) => id > 0).sort((a, b) => a[0] - b[0]);
    expect(helpers()).toEqual(expected);
    expect(MAX_HELPER_ID).toBe(Math.max(...kernel!.keys()));
  });
});
