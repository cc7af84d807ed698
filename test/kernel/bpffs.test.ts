import { mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BpffsError, ensureBpffsDirectory, onBpffs } from '../../src/kernel/bpffs.js';
import { describeKernel } from './support.js';

describeKernel('bpffs', () => {
  it('creates a pin directory under /sys/fs/bpf (mounting bpffs when missing) and refuses one elsewhere', () => {
    const dir = `/sys/fs/bpf/bpfkit-test-bpffs-${process.pid}/nested`;
    try {
      ensureBpffsDirectory(dir);
      expect(onBpffs(dir)).toBe(true);
    } finally {
      rmdirSync(dir);
      rmdirSync(join(dir, '..'));
    }
    const elsewhere = mkdtempSync(join(tmpdir(), 'bpfkit-not-bpffs-'));
    try {
      expect(onBpffs(elsewhere)).toBe(false);
      expect(() => ensureBpffsDirectory(elsewhere)).toThrow(BpffsError);
      expect(() => ensureBpffsDirectory(elsewhere)).toThrow(/not on a bpffs mount/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
