// Run by netfilter.test.ts inside a scratch network namespace (`ip netns exec`): a
// netfilter hook applies to the whole namespace of the process that creates the link,
// so the attaching must happen here, never in the test runner's namespace.
// argv: <object.o> <the runner's /proc/self/ns/net link>. Prints one JSON line.
import { readFileSync, readlinkSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { loadObjectSpec } from '../../../src/elf/load-object.js';
import { attachNetfilter } from '../../../src/kernel/attach.js';
import { loadCollection } from '../../../src/kernel/collection.js';

const [objectPath, runnerNetns] = process.argv.slice(2);
if (!objectPath || !runnerNetns) throw new Error('usage: netfilter-in-netns.ts <object.o> <runner netns link>');
const ownNetns = readlinkSync('/proc/self/ns/net');
// Refuse to hook the runner's namespace (e.g. if `ip netns exec` were bypassed).
if (ownNetns === runnerNetns) throw new Error(`refusing to attach netfilter in the runner's network namespace ${ownNetns}`);

const NFPROTO_IPV4 = 2;
const NF_INET_LOCAL_IN = 1;

/** Does a TCP connect to 127.0.0.1:port complete? A dropped SYN leaves it pending until we give up. */
function tcpConnects(port: number, giveUpMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, giveUpMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => s.end());
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const zero = u32(0);

const server = await listen();
const port = (server.address() as { port: number }).port;
using coll = loadCollection(loadObjectSpec(readFileSync(objectPath)));
const seen = () => new DataView(coll.map('seen').lookup(zero)!.buffer).getBigUint64(0, true).toString();
const setDrop = (drop: boolean) => coll.map('settings').update(zero, u32(drop ? 1 : 0));

const report: Record<string, unknown> = { ownNetns, port };
report.beforeAttach = { connected: await tcpConnects(port, 3000), seen: seen() };

const link = attachNetfilter(coll.program('count_and_judge'), { pf: NFPROTO_IPV4, hooknum: NF_INET_LOCAL_IN, priority: -128 });
try {
  report.linkType = link.info().type;
  setDrop(false);
  report.accepting = { connected: await tcpConnects(port, 3000), seen: seen() };
  setDrop(true);
  report.dropping = { connected: await tcpConnects(port, 1500), seen: seen() };
} finally {
  link.close();
}
report.seenAtDetach = seen();
// The switch stays on "drop": only the detached hook can explain traffic passing now.
report.detached = { connected: await tcpConnects(port, 3000), seen: seen() };
report.detachedAgain = { connected: await tcpConnects(port, 3000), seen: seen() };
server.close();
console.log(JSON.stringify(report));
