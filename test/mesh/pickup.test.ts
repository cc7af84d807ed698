/**
 * Connections the agent meets already established, and sockets that meet it in awkward
 * states, on the real kernel: taken in and redirected byte-exact, never stranding a
 * thread that was asleep in a receive, and an unpaired socket never leaving the sockhash
 * with unread bytes on it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { repoRoot } from '../support/clang.js';
import { MeshMaps } from '../../src/mesh/maps.js';
import { addNamespaces, bridgePods, clientResult, MeshEnv, type Proc } from './support.js';

const SCRIPT = join(repoRoot, 'test/mesh/preexisting.py');

describeKernel('mesh pickup of established connections (kernel)', () => {
  let env: MeshEnv;
  let agent: Proc;
  // Started before the agent: 20 Node connections paused after two rounds, and a pair
  // with a thread asleep in a blocking receive.
  let client: Proc;
  let ports: number[];
  let blocked: Proc;
  let blockedPort: number;
  // Pods in two namespaces joined by a bridge, and a pair on a port the policy excludes.
  const tag = `bk${process.pid}`;
  const ns = { a: `${tag}-pk-a`, b: `${tag}-pk-b`, node: `${tag}-pk-node` };
  let podClient: Proc;
  let podPorts: number[];
  let excludedClient: Proc;
  let excludedPorts: number[];

  beforeAll(async () => {
    env = new MeshEnv('pickup');
    addNamespaces(env, Object.values(ns));
    bridgePods(ns.node, [[ns.a, '10.214.0.1/24', 'veth-pk-a'], [ns.b, '10.214.0.2/24', 'veth-pk-b']]);
    const server = await env.peerServer(env.cgroup);
    client = env.peerClient(env.cgroup, '127.0.0.1', server.port, ['--conns', '20', '--rounds', '8', '--max-size', '65536', '--pause-after', '2', '--hold']);
    ports = (await client.line(/^paused ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    blocked = env.spawnIn(env.cgroup, ['python3', SCRIPT, 'blocked']);
    blockedPort = Number((await blocked.line(/^ready (\d+)/))[1]);
    const podServer = await env.peerServer(env.cgroup, '10.214.0.2', ns.b);
    podClient = env.peerClient(env.cgroup, '10.214.0.2', podServer.port, ['--conns', '5', '--rounds', '6', '--max-size', '65536', '--pause-after', '2', '--hold'], ns.a);
    podPorts = (await podClient.line(/^paused ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    const excludedServer = await env.peerServer(env.cgroup);
    excludedClient = env.peerClient(env.cgroup, '127.0.0.1', excludedServer.port, ['--conns', '3', '--rounds', '4', '--max-size', '4096', '--pause-after', '2', '--hold']);
    excludedPorts = (await excludedClient.line(/^paused ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    const policy = `/tmp/bpfkit-test-mesh-pickup-${process.pid}.json`;
    writeFileSync(policy, JSON.stringify({ ports: { exclude: [String(excludedServer.port)] } }));
    agent = (await env.startAgent(['--policy', policy])).proc;
  }, 180_000);

  afterAll(async () => {
    await env?.cleanup();
  }, 60_000);

  function records(clientPorts: number[]) {
    using maps = MeshMaps.fromPins(env.pinRoot);
    const all = maps.connections();
    const clients = all.filter((c) => c.role === 'client' && clientPorts.includes(c.localPort));
    return [...clients, ...all.filter((c) => c.role === 'server' && clients.some((k) => k.peerCookie === c.cookie))];
  }

  it('takes in the connections established before it, pairs them, and redirects them byte-exact once each direction is quiet', async () => {
    const report = await agent.line(/^mesh: picked up (\d+) connection/);
    expect(Number(report[1])).toBe(26); // 20 + the blocked pair + 5 pod pairs; not the excluded 3
    const before = records(ports);
    expect(before).toHaveLength(40);
    for (const c of before) {
      expect(c.picked).toBe(true);
      expect(c.state).toBe('picked');
    }
    client.send('go');
    await client.line(/^holding/, 120_000);
    const after = records(ports);
    expect(after).toHaveLength(40);
    for (const c of after) {
      // The first send of each direction takes TCP (a receive begun earlier may be waiting
      // there); later ones are redirected.
      expect(c.passedBytes, `${c.role} ${c.localPort}`).toBeGreaterThan(0n);
      expect(c.redirectedBytes, `${c.role} ${c.localPort}`).toBeGreaterThan(0n);
      expect(c.state).toBe('redirect');
    }
    client.send('close');
    expect(await clientResult(client)).toMatchObject({ ok: true, errors: 0, frames: 160 });
  }, 180_000);

  it('takes in pod-to-pod connections across network namespaces, and leaves out the ones the policy excludes', async () => {
    const pods = records(podPorts);
    expect(pods).toHaveLength(10);
    for (const c of pods) expect(c.picked).toBe(true);
    expect(pods.filter((c) => c.role === 'client').every((c) => c.remote === '10.214.0.2')).toBe(true);
    expect(records(excludedPorts)).toEqual([]);
    expect((await agent.line(/^mesh: picked up.*/))[0]).toMatch(/[1-9]\d* kept out by policy/);
    podClient.send('go');
    await podClient.line(/^holding/, 60_000);
    for (const c of records(podPorts)) expect(c.redirectedBytes, `${c.role} ${c.localPort}`).toBeGreaterThan(0n);
    podClient.send('close');
    expect(await clientResult(podClient)).toMatchObject({ ok: true, errors: 0, frames: 30 });
    excludedClient.send('go');
    await excludedClient.line(/^holding/, 60_000);
    excludedClient.send('close');
    expect(await clientResult(excludedClient)).toMatchObject({ ok: true, errors: 0, frames: 12 });
  }, 120_000);

  it('never strands a thread that was asleep in a blocking receive when its socket was taken in', async () => {
    expect(records([blockedPort])).toHaveLength(2);
    blocked.send('go');
    const result = JSON.parse((await blocked.line(/^\{.*\}$/, 60_000))[0]) as { first: number; firstOk: boolean; rounds: number; errors: number };
    expect(result).toEqual({ first: 1000, firstOk: true, rounds: 200, errors: 0 });
    // And the pair was really taken over: once nobody sat in a receive, both directions
    // switched to the redirect (the rounds are single-threaded ping-pong).
    const pair = records([blockedPort]);
    expect(pair).toHaveLength(2);
    for (const c of pair) {
      expect(c.state, c.role).toBe('redirect');
      expect(c.redirectedBytes, c.role).toBeGreaterThan(0n);
    }
    blocked.send('done');
  }, 120_000);

  it('forgets the records of taken-in connections once they have closed (they have no close callback)', async () => {
    // The 20 Node connections closed at the end of the first test.
    const deadline = Date.now() + 20_000;
    while (records(ports).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(records(ports)).toEqual([]);
  }, 30_000);

  it('keeps an unpaired socket in the sockhash while bytes its peer sent first wait unread on it', async () => {
    const outside = env.makeCgroup(`bpfkit-test-mesh-banner-${process.pid}`);
    const server = env.spawnIn(outside, ['python3', SCRIPT, 'banner-server']);
    const port = Number((await server.line(/^listening (\d+)/))[1]);
    using maps = MeshMaps.fromPins(env.pinRoot);
    const deferredBefore = maps.counters().removal_deferred;
    const bannerClient = env.spawnIn(env.cgroup, ['python3', SCRIPT, 'banner', '127.0.0.1', String(port)]);
    const result = JSON.parse((await bannerClient.line(/^\{.*\}$/, 30_000))[0]) as { received: number; ok: boolean };
    expect(result).toEqual({ received: 700, ok: true });
    expect(maps.counters().removal_deferred).toBeGreaterThan(deferredBefore);
  }, 60_000);
});
