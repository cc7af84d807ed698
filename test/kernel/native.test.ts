import { execFileSync } from 'node:child_process';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BpfCmd, MapCreateAttr, MapElemAttr } from '../../src/kernel/bpf-attr.js';
import { Errno } from '../../src/kernel/errno.js';
import { encodeStruct, stableBuffer } from '../../src/kernel/layout.js';
import { native } from '../../src/kernel/native.js';
import { describeKernel } from './support.js';

/** Write one MapElemAttr field into `attr` in place (the bound buffer must stay the same). */
function encodeInto(attr: Uint8Array, field: 'map_fd' | 'key' | 'value', v: number | bigint): void {
  const view = new DataView(attr.buffer, attr.byteOffset);
  const at = MapElemAttr.offset(field);
  if (field === 'map_fd') view.setUint32(at, Number(v), true);
  else view.setBigUint64(at, BigInt(v), true);
}

describeKernel('native addon', () => {
  it('bpf() returns an fd, and -errno instead of throwing', () => {
    const n = native();
    const fd = n.bpf(BpfCmd.MAP_CREATE, encodeStruct(MapCreateAttr, { map_type: 2, key_size: 4, value_size: 8, max_entries: 4 }));
    expect(fd).toBeGreaterThan(2);
    expect(n.close(fd)).toBe(0);
    expect(n.close(fd)).toBe(-Errno.EBADF);
    // value_size 0 is invalid for an array
    expect(n.bpf(BpfCmd.MAP_CREATE, encodeStruct(MapCreateAttr, { map_type: 2, key_size: 4, value_size: 0, max_entries: 4 }))).toBe(-Errno.EINVAL);
    expect(n.bpf(9999, stableBuffer(8))).toBe(-Errno.EINVAL);
  });

  it('bindAttr() calls bpf() with the bound attr as it is at call time', () => {
    const n = native();
    const fd = n.bpf(BpfCmd.MAP_CREATE, encodeStruct(MapCreateAttr, { map_type: 2, key_size: 4, value_size: 8, max_entries: 4 }));
    expect(fd).toBeGreaterThan(2);
    try {
      const key = stableBuffer(4);
      const value = stableBuffer(8);
      const attr = stableBuffer(MapElemAttr.size);
      const call = n.bindAttr(attr);
      const words = (field: 'map_fd' | 'key' | 'value', v: number | bigint) => encodeInto(attr, field, v);
      words('map_fd', fd);
      words('key', n.address(key));
      words('value', n.address(value));
      new DataView(key.buffer).setUint32(0, 2, true);
      new DataView(value.buffer).setBigUint64(0, 0x1122334455n, true);
      expect(call(BpfCmd.MAP_UPDATE_ELEM)).toBe(0);
      value.fill(0);
      expect(call(BpfCmd.MAP_LOOKUP_ELEM)).toBe(0);
      expect(new DataView(value.buffer).getBigUint64(0, true)).toBe(0x1122334455n);
      new DataView(key.buffer).setUint32(0, 9, true); // out of range for 4 entries
      expect(call(BpfCmd.MAP_LOOKUP_ELEM)).toBe(-Errno.ENOENT);
      expect(() => call('x' as never)).toThrow(TypeError);
    } finally {
      n.close(fd);
    }
  });

  it('address() points at the buffer bytes and is stable', () => {
    const n = native();
    const a = stableBuffer(16);
    const first = n.address(a);
    expect(first).toBeGreaterThan(0n);
    expect(n.address(a)).toBe(first);
    expect(n.address(a.subarray(4))).toBe(first + 4n);
  });

  it('throws a TypeError for a wrong argument type (a bpfkit bug, not a syscall error)', () => {
    expect(() => native().bpf(0, 'nope' as never)).toThrow(TypeError);
  });

  it('mmap/munmap lend a mapping as an ArrayBuffer and detach it', () => {
    const n = native();
    const fd = openSync('/dev/zero', 'r');
    try {
      const PROT_READ = 1, MAP_PRIVATE = 2;
      const buf = n.mmap(fd, 4096, PROT_READ, MAP_PRIVATE, 0);
      expect(buf).toBeInstanceOf(ArrayBuffer);
      const ab = buf as ArrayBuffer;
      expect(ab.byteLength).toBe(4096);
      expect(new Uint8Array(ab)[100]).toBe(0);
      expect(n.munmap(ab)).toBe(0);
      expect(ab.byteLength).toBe(0);
      expect(n.munmap(ab)).toBe(0);
      expect(n.mmap(-1, 4096, PROT_READ, MAP_PRIVATE, 0)).toBe(-Errno.EBADF);
    } finally {
      closeSync(fd);
    }
  });

  it('pollStart reports readiness through the event loop', async () => {
    const n = native();
    const [r, w] = pipeSync();
    try {
      const events = await new Promise<number>((resolve, reject) => {
        const handle = n.pollStart(r, 1, (status, ev) => {
          n.pollStop(handle as never);
          if (status < 0) reject(new Error(`poll status ${status}`));
          else resolve(ev);
        });
        if (typeof handle === 'number') reject(new Error(`pollStart ${handle}`));
        writeSync(w, 'x');
      });
      expect(events & 1).toBe(1);
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });
});

/** A FIFO opened at both ends (Node has no pipe(2)); its path is removed at once. */
function pipeSync(): [number, number] {
  const path = join(tmpdir(), `bpfkit-poll-${process.pid}-${Date.now()}`);
  execFileSync('mkfifo', [path]);
  const r = openSync(path, 'r+');
  const w = openSync(path, 'w');
  unlinkSync(path);
  return [r, w];
}
