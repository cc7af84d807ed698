/**
 * The bypass across network namespaces, as Kubernetes pods use them: pod-to-pod over a
 * bridge pairs and redirects (no payload crosses the veths), and an app whose
 * connection iptables REDIRECTs to a local proxy (a sidecar) is paired with the proxy,
 * never with the address it dialled. Namespaces, veths and the bridge are the test's
 * own; no real interface is touched.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { MeshMaps, type MeshConnection } from '../../src/mesh/maps.js';
import { PayloadCounter } from './segments.js';
import { addNamespaces, bridgePods, clientResult, ip, MeshEnv } from './support.js';


describeKernel('mesh across network namespaces (kernel)', () => {
  let env: MeshEnv;
  const tag = `bk${process.pid}`;
  const ns = { a: `${tag}-pod-a`, b: `${tag}-pod-b`, node: `${tag}-node`, app: `${tag}-app`, lo1: `${tag}-lo1`, lo2: `${tag}-lo2` };

  beforeAll(async () => {
    env = new MeshEnv('netns');
    addNamespaces(env, Object.values(ns));
    bridgePods(ns.node, [[ns.a, '10.213.0.1/24', 'veth-a'], [ns.b, '10.213.0.2/24', 'veth-b']]);
    await env.startAgent();
  }, 120_000);

  afterAll(async () => {
    await env?.cleanup();
  }, 60_000);

  function connectionsOf(ports: number[]): { clients: MeshConnection[]; servers: MeshConnection[] } {
    using maps = MeshMaps.fromPins(env.pinRoot);
    const all = maps.connections();
    const clients = all.filter((c) => c.role === 'client' && ports.includes(c.localPort));
    return { clients, servers: all.filter((c) => c.role === 'server' && clients.some((k) => k.peerCookie === c.cookie)) };
  }

  function txBytes(netns: string, dev: string): number {
    const [link] = JSON.parse(ip('-n', netns, '-s', '-j', 'link', 'show', dev)) as Array<{ stats64: { tx: { bytes: number } } }>;
    return link!.stats64.tx.bytes;
  }

  it('pod-to-pod across two namespaces joined by a bridge pairs and redirects; no payload crosses the veths', async () => {
    const server = await env.peerServer(env.cgroup, '10.213.0.2', ns.b);
    const txBefore = txBytes(ns.a, 'eth0') + txBytes(ns.b, 'eth0');
    const veths = [new PayloadCounter(ns.a, 4, server.port, 'eth0'), new PayloadCounter(ns.b, 4, server.port, 'eth0')];
    const client = env.peerClient(env.cgroup, '10.213.0.2', server.port, ['--conns', '20', '--rounds', '3', '--max-size', '262144', '--hold'], ns.a);
    const ports = (await client.line(/^holding ([\d,]+)/, 120_000))[1]!.split(',').map(Number);
    const { clients, servers } = connectionsOf(ports);
    expect(clients).toHaveLength(20);
    expect(servers).toHaveLength(20);
    for (const c of [...clients, ...servers]) {
      expect(c.state).toBe('redirect');
      expect(c.redirectedBytes).toBeGreaterThan(0n);
      expect(c.passedBytes).toBe(0n);
    }
    for (const c of clients) expect(c.remote).toBe('10.213.0.2');
    client.send('close');
    const result = await clientResult(client);
    expect(result).toMatchObject({ ok: true, frames: 60 });
    // Only handshakes, ACKs and FINs (a few hundred bytes per connection) crossed the wire.
    const crossed = txBytes(ns.a, 'eth0') + txBytes(ns.b, 'eth0') - txBefore;
    expect(crossed).toBeLessThan(20 * 2000);
    expect(result.bytes).toBeGreaterThan(crossed * 10);
    for (const v of veths) expect(v.segments()).toBe(0);
    // Control: a client outside the cgroup sends its payload over the veths, and is seen.
    const outside = env.makeCgroup(`bpfkit-test-mesh-netns-outside-${process.pid}`);
    const control = env.peerClient(outside, '10.213.0.2', server.port, ['--conns', '2', '--rounds', '2', '--max-size', '65536'], ns.a);
    expect(await clientResult(control)).toMatchObject({ ok: true, frames: 4 });
    for (const v of veths) expect(v.segments()).toBeGreaterThan(0);
    server.proc.kill();
  }, 180_000);

  it('app-to-sidecar via iptables REDIRECT: the app is paired with the proxy and its bytes reach the proxy', async () => {
    const target = await env.peerServer(env.cgroup, '127.0.0.1', ns.app);
    const proxy = await env.peerServer(env.cgroup, '127.0.0.1', ns.app, 15001);
    execFileSync('ip', ['netns', 'exec', ns.app, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '127.0.0.1', '--dport', String(target.port), '-j', 'REDIRECT', '--to-ports', '15001']);
    const client = env.peerClient(env.cgroup, '127.0.0.1', target.port, ['--conns', '10', '--rounds', '2', '--max-size', '65536', '--hold'], ns.app);
    const ports = (await client.line(/^holding ([\d,]+)/, 120_000))[1]!.split(',').map(Number);
    const { clients, servers } = connectionsOf(ports);
    expect(clients).toHaveLength(10);
    expect(servers).toHaveLength(10);
    for (const c of clients) expect(c.remotePort).toBe(target.port); // what the app dialled...
    for (const s of servers) expect(s.localPort).toBe(15001); // ...and who it is paired with
    for (const c of [...clients, ...servers]) expect(c.redirectedBytes).toBeGreaterThan(0n);
    const acceptedByProxy = proxy.proc.lines.filter((l) => l.startsWith('accepted ')).map((l) => Number(l.split(' ')[1]));
    expect(acceptedByProxy.sort()).toEqual([...ports].sort());
    expect(target.proc.lines.filter((l) => l.startsWith('accepted '))).toEqual([]);
    client.send('close');
    expect(await clientResult(client)).toMatchObject({ ok: true, frames: 20 });
    target.proc.kill();
    proxy.proc.kill();
  }, 180_000);

  it('two namespaces using the same 127.0.0.1:PORT never cross: each client pairs with its own namespace\'s server', async () => {
    const port = 17000 + (process.pid % 1000);
    const servers = [await env.peerServer(env.cgroup, '127.0.0.1', ns.lo1, port), await env.peerServer(env.cgroup, '127.0.0.1', ns.lo2, port)];
    const clients = [ns.lo1, ns.lo2].map((n) => env.peerClient(env.cgroup, '127.0.0.1', port, ['--conns', '10', '--rounds', '2', '--max-size', '65536', '--hold'], n));
    const ports = await Promise.all(clients.map(async (c) => (await c.line(/^holding ([\d,]+)/, 120_000))[1]!.split(',').map(Number)));
    for (let i = 0; i < 2; i++) {
      const accepted = servers[i]!.proc.lines.filter((l) => l.startsWith('accepted ')).map((l) => Number(l.split(' ')[1]));
      expect(accepted.sort()).toEqual([...ports[i]!].sort());
      const { clients: mine, servers: peers } = connectionsOf(ports[i]!);
      expect(mine).toHaveLength(10);
      expect(peers).toHaveLength(10);
      for (const c of [...mine, ...peers]) expect(c.redirectedBytes).toBeGreaterThan(0n);
    }
    for (const c of clients) c.send('close');
    for (const c of clients) expect(await clientResult(c)).toMatchObject({ ok: true, frames: 20 });
    for (const s of servers) s.proc.kill();
  }, 180_000);
});
