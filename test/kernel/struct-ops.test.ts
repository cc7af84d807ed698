import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { native } from '../../src/kernel/native.js';
import { expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { loadCollection } from '../../src/kernel/collection.js';
import { LinkType } from '../../src/uapi/index.js';
import { compileBpf } from '../support/clang.js';
import { describeKernel, openFdCount } from './support.js';

const available = () => readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);

describeKernel('struct_ops', () => {
  it('a TCP congestion control in eBPF registers with a link and goes away with it', async () => {
    const before = openFdCount();
    // A TCP socket to select the algorithm on (IPPROTO_TCP 6, TCP_CONGESTION 13).
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const select = () => native().setsockopt(fd, 6, 13, new TextEncoder().encode('bpfkit_cc'));
    const spec = loadObjectSpec(readFileSync(compileBpf('test/kernel/fixtures/congestion.c')));
    {
      using coll = loadCollection(spec);
      expect(available()).not.toContain('bpfkit_cc');
      const link = coll.attachStructOps('bpfkit_cc');
      expect(link.info().type).toBe(LinkType.STRUCT_OPS);
      expect(available()).toContain('bpfkit_cc');
      expect(select()).toBe(0);
      const name = new Uint8Array(16);
      expect(native().getsockopt(fd, 6, 13, name)).toBeGreaterThan(0);
      expect(new TextDecoder().decode(name).replace(/\0.*$/s, '')).toBe('bpfkit_cc');
      link.close();
      expect(available()).not.toContain('bpfkit_cc');
      // attachAll registers it too, and closing the collection unregisters it.
      expect(coll.attachAll()).toHaveLength(1);
      expect(available()).toContain('bpfkit_cc');
    }
    expect(available()).not.toContain('bpfkit_cc');
    expect(select()).toBeLessThan(0); // ENOENT: no such algorithm any more
    await new Promise((resolve) => server.close(resolve));
    expect(openFdCount()).toBe(before);
  });
});
