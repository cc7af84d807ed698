import { createServer, connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { attachSockMap } from '../../src/kernel/attach.js';
import { createMap } from '../../src/kernel/map-create.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { AttachType, LinkType } from '../../src/uapi/index.js';
import { describeKernel, readU64, u32, countingProgram } from './support.js';

const SK_PASS = 1;

function fdOf(socket: Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

describeKernel('sockmap links', () => {
  it('sk_msg verdict and sk_skb stream verdict run for sockets in the map until detached', async () => {
    using counter = createMap({ type: 'ARRAY', valueSize: 8, maxEntries: 2 });
    using socks = createMap({ type: 'SOCKMAP', name: 'test_socks', maxEntries: 2 });
    using msg = KernelProgram.load({ type: 'SK_MSG', expectedAttachType: AttachType.SK_MSG_VERDICT, instructions: countingProgram(counter.fd, 0, SK_PASS) });
    using skb = KernelProgram.load({ type: 'SK_SKB', expectedAttachType: AttachType.SK_SKB_STREAM_VERDICT, instructions: countingProgram(counter.fd, 1, SK_PASS) });

    const received: Buffer[] = [];
    let accepted: Socket | undefined;
    const server = createServer((s) => {
      accepted = s;
      s.on('data', (d) => received.push(d));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => client.on('connect', resolve));
    const write = async (text: string) => {
      await new Promise<void>((resolve) => client.write(text, () => resolve()));
      await sleep(50);
    };
    const msgCount = () => readU64(counter.lookup(u32(0))!);
    const skbCount = () => readU64(counter.lookup(u32(1))!);
    try {
      const msgLink = attachSockMap(msg, socks);
      const skbLink = attachSockMap(skb, socks);
      expect(msgLink.info().type).toBe(LinkType.SOCKMAP);
      // The client's sendmsg runs sk_msg; the server side's receive path runs sk_skb.
      for (let i = 0; i < 50 && !accepted; i++) await sleep(5);
      socks.updateFd(u32(0), fdOf(client));
      socks.updateFd(u32(1), fdOf(accepted!));
      await write('hello');
      expect(msgCount()).toBeGreaterThanOrEqual(1n);
      expect(skbCount()).toBeGreaterThanOrEqual(1n);
      expect(received.join('')).toBe('hello');

      // A socket keeps the programs it got when it entered the map: detach, then re-insert it.
      msgLink.close();
      skbLink.close();
      socks.delete(u32(0));
      socks.delete(u32(1));
      socks.updateFd(u32(0), fdOf(client));
      socks.updateFd(u32(1), fdOf(accepted!));
      const before = [msgCount(), skbCount()];
      await write('again');
      expect([msgCount(), skbCount()]).toEqual(before);
      expect(received.join('')).toBe('helloagain');
      socks.delete(u32(0));
      socks.delete(u32(1));
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
