/**
 * Connections the agent meets already established, and sockets that meet it in awkward
 * states, on the real kernel: taken in and redirected byte-exact, never stranding a
 * thread that was asleep in a receive, and an unpaired socket never leaving the sockhash
 * with unread bytes on it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { repoRoot } from '../support/clang.js';
import { MeshMaps } from '../../src/mesh/maps.js';
import { clientResult, MeshEnv, type Proc } from './support.js';

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

  beforeAll(async () => {
    env = new MeshEnv('pickup');
    const server = await env.peerServer(env.cgroup);
    client = env.peerClient(env.cgroup, '127.0.0.1', server.port, ['--conns', '20', '--rounds', '8', '--max-size', '65536', '--pause-after', '2', '--hold']);
    ports = (await client.line(/^paused ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    blocked = env.spawnIn(env.cgroup, ['python3', SCRIPT, 'blocked']);
    blockedPort = Number((await blocked.line(/^ready (\d+)/))[1]);
    agent = (await env.startAgent()).proc;
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
    expect(Number(report[1])).toBeGreaterThanOrEqual(21); // 20 + the blocked pair (the agent's own sockets are not candidates)
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

  it('never strands a thread that was asleep in a blocking receive when its socket was taken in', async () => {
    expect(records([blockedPort])).toHaveLength(2);
    blocked.send('go');
    const result = JSON.parse((await blocked.line(/^\{.*\}$/, 60_000))[0]) as { first: number; firstOk: boolean; rounds: number; errors: number };
    expect(result).toEqual({ first: 1000, firstOk: true, rounds: 200, errors: 0 });
    blocked.send('done');
  }, 120_000);

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
