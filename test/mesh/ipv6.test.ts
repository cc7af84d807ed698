/**
 * The bypass over IPv6: ::1 loopback, a v6 pod-to-pod pair across two namespaces
 * joined by a bridge, and a dual-stack server (AF_INET6, IPV6_V6ONLY=0) accepting an
 * IPv4 client, whose server end the kernel reports as v4-mapped. Each pairs and
 * redirects byte-exact, its records carry the right family and addresses, and no
 * payload segment crosses lo or the veths. Namespaces, veths and bridge are the test's own.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { MeshMaps, type MeshConnection } from '../../src/mesh/maps.js';
import { PayloadCounter } from './segments.js';
import { addNamespaces, bridgePods, clientResult, ip, MeshEnv } from './support.js';


describeKernel('mesh over IPv6 and v4-mapped (kernel)', () => {
  let env: MeshEnv;
  let outside: string;
  const tag = `bk6${process.pid}`;
  const ns = { lo: `${tag}-lo`, a: `${tag}-pod-a`, b: `${tag}-pod-b`, node: `${tag}-node` };

  beforeAll(async () => {
    env = new MeshEnv('ipv6');
    outside = env.makeCgroup(`bpfkit-test-mesh-ipv6-outside-${process.pid}`);
    addNamespaces(env, Object.values(ns));
    bridgePods(ns.node, [[ns.a, 'fd42:6::1/64', 'veth-a'], [ns.b, 'fd42:6::2/64', 'veth-b']]);
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

  /** Run `conns` clients in `cgroup` to host:port; check them and their peers while held open. */
  async function exchange(cgroup: string, host: string, port: number, netns: string, conns: number, check: (c: ReturnType<typeof connectionsOf>, ports: number[]) => void) {
    const client = env.peerClient(cgroup, host, port, ['--conns', String(conns), '--rounds', '3', '--max-size', '262144', '--hold'], netns);
    const ports = (await client.line(/^holding ([\d,]+)/, 120_000))[1]!.split(',').map(Number);
    check(connectionsOf(ports), ports);
    client.send('close');
    const result = await clientResult(client);
    expect(result).toMatchObject({ ok: true, errors: 0, frames: conns * 3 });
    return result;
  }

  function expectRedirected(all: MeshConnection[]): void {
    for (const c of all) {
      expect(c.state).toBe('redirect');
      expect(c.redirectedBytes).toBeGreaterThan(0n);
      expect(c.passedBytes).toBe(0n);
    }
  }

  it('::1 loopback pairs and redirects; no payload segment crosses lo (a control connection outside the cgroup does)', async () => {
    const server = await env.peerServer(env.cgroup, '::1', ns.lo);
    const lo = new PayloadCounter(ns.lo, 6, server.port);
    await exchange(env.cgroup, '::1', server.port, ns.lo, 10, ({ clients, servers }, ports) => {
      expect(clients).toHaveLength(10);
      expect(servers).toHaveLength(10);
      expectRedirected([...clients, ...servers]);
      for (const c of clients) expect(c).toMatchObject({ family: 6, local: '::1', remote: '::1', remotePort: server.port });
      for (const s of servers) {
        expect(s).toMatchObject({ family: 6, local: '::1', remote: '::1', localPort: server.port });
        expect(ports).toContain(s.remotePort);
      }
    });
    expect(lo.segments()).toBe(0);
    // The same exchange from outside the cgroup takes TCP: the counter sees it.
    await exchange(outside, '::1', server.port, ns.lo, 2, ({ clients, servers }) => {
      expect(clients).toEqual([]);
      expect(servers).toEqual([]);
    });
    expect(lo.segments()).toBeGreaterThan(0);
    server.proc.kill();
  }, 180_000);

  it('v6 pod-to-pod across two namespaces joined by a bridge pairs and redirects; no payload crosses the veths', async () => {
    const server = await env.peerServer(env.cgroup, 'fd42:6::2', ns.b);
    const tx = () => ['a', 'b'].reduce((sum, p) => {
      const [link] = JSON.parse(ip('-n', ns[p as 'a' | 'b'], '-s', '-j', 'link', 'show', 'eth0')) as Array<{ stats64: { tx: { bytes: number } } }>;
      return sum + link!.stats64.tx.bytes;
    }, 0);
    const before = tx();
    const veths = [new PayloadCounter(ns.a, 6, server.port, 'eth0'), new PayloadCounter(ns.b, 6, server.port, 'eth0')];
    const result = await exchange(env.cgroup, 'fd42:6::2', server.port, ns.a, 10, ({ clients, servers }) => {
      expect(clients).toHaveLength(10);
      expect(servers).toHaveLength(10);
      expectRedirected([...clients, ...servers]);
      for (const c of clients) expect(c).toMatchObject({ family: 6, local: 'fd42:6::1', remote: 'fd42:6::2' });
      for (const s of servers) expect(s).toMatchObject({ family: 6, local: 'fd42:6::2', remote: 'fd42:6::1' });
    });
    // Handshakes, ACKs, FINs and neighbour discovery only: a few hundred bytes per connection.
    const crossed = tx() - before;
    expect(crossed).toBeLessThan(10 * 3000);
    expect(result.bytes).toBeGreaterThan(crossed * 10);
    for (const v of veths) expect(v.segments()).toBe(0);
    // Control: the same pods outside the cgroup send their payload over the veths.
    await exchange(outside, 'fd42:6::2', server.port, ns.a, 2, ({ clients }) => expect(clients).toEqual([]));
    for (const v of veths) expect(v.segments()).toBeGreaterThan(0);
    server.proc.kill();
  }, 180_000);

  it('a dual-stack server (::, V6ONLY=0) pairs with an IPv4 client: both records are IPv4, nothing crosses lo', async () => {
    // Node listens on '::' with IPV6_V6ONLY off, so 127.0.0.1 clients arrive v4-mapped.
    const server = await env.peerServer(env.cgroup, '::', ns.lo);
    const lo = new PayloadCounter(ns.lo, 4, server.port);
    await exchange(env.cgroup, '127.0.0.1', server.port, ns.lo, 10, ({ clients, servers }) => {
      expect(clients).toHaveLength(10);
      expect(servers).toHaveLength(10);
      expectRedirected([...clients, ...servers]);
      for (const c of clients) expect(c).toMatchObject({ family: 4, local: '127.0.0.1', remote: '127.0.0.1' });
      for (const s of servers) expect(s).toMatchObject({ family: 4, local: '127.0.0.1', remote: '127.0.0.1', localPort: server.port });
    });
    expect(server.proc.lines.filter((l) => l.startsWith('accepted '))).toHaveLength(10);
    expect(lo.segments()).toBe(0);
    server.proc.kill();
  }, 180_000);
});
