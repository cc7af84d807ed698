import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { createVmCollection } from '../../src/vm/collection.js';
import { SocketSimulation } from '../../src/vm/sockets/socket-simulation.js';
import { compileBpf, haveClang } from '../support/clang.js';

describe.skipIf(!haveClang('v3'))('sockops and sk_msg over simulated connections', () => {
  it('sockops fills a sockhash; sk_msg redirects to the peer, counts in sk_storage, drops large messages', () => {
    const spec = loadObjectSpec(readFileSync(compileBpf('test/fixtures/vm/sockets.c', { cpu: 'v3' })));
    using coll = createVmCollection(spec);
    const sim = new SocketSimulation(coll.runtime, coll.program('sockops_insert').loaded, coll.program('msg_redirect').loaded);
    const { client, server } = sim.connect({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 8080 });
    expect([...coll.map('socks').keys()].length).toBe(2);
    const hello = new TextEncoder().encode('hello');
    const r = sim.send(client, hello);
    expect(r).toMatchObject({ verdict: 'pass', redirected: true });
    expect(r.deliveredTo).toBe(server);
    expect(server.received).toEqual([hello]);
    const big = sim.send(server, new Uint8Array(2000));
    expect(big.verdict).toBe('drop');
    expect(client.received).toEqual([]);
    // sk_storage counted the bytes each socket sent.
    const sentBy = (fd: number) => new DataView(coll.map('sent').lookup(new Uint8Array(new Uint32Array([fd]).buffer))!.buffer).getBigUint64(0, true);
    expect(sentBy(client.fd)).toBe(5n);
    expect(sentBy(server.fd)).toBe(2000n);
    // Closing reports TCP_CLOSE to sockops, which enabled state callbacks.
    sim.close(client);
    const closed = [...coll.map('closed').entries()].map(([k, v]) => [new DataView(k.buffer).getBigUint64(0, true), new DataView(v.buffer).getUint32(0, true)]);
    expect(closed).toEqual([[client.cookie, 40000]]);
  });

  it('without a peer entry the message takes the normal path', () => {
    const spec = loadObjectSpec(readFileSync(compileBpf('test/fixtures/vm/sockets.c', { cpu: 'v3' })));
    using coll = createVmCollection(spec);
    const sim = new SocketSimulation(coll.runtime, undefined, coll.program('msg_redirect').loaded);
    const { client, server } = sim.connect({ ip: '10.0.0.1', port: 1 }, { ip: '10.0.0.2', port: 2 });
    // No sockops program: the sockhash is empty, so the redirect fails and the message is dropped (SK_DROP).
    expect(sim.send(client, new Uint8Array([1])).verdict).toBe('drop');
    expect(server.received).toEqual([]);
  });

  it('cgroup connect4 rewrites the destination and refuses a port', () => {
    const spec = loadObjectSpec(readFileSync(compileBpf('test/fixtures/vm/sockets.c', { cpu: 'v3' })));
    using coll = createVmCollection(spec);
    const sim = new SocketSimulation(coll.runtime);
    const prog = coll.program('connect_rewrite').loaded;
    expect(sim.runSockAddr(prog, { ip: '10.0.0.100', port: 80 })).toEqual({ allowed: true, retval: 1, ip: '127.0.0.1', port: 8080 });
    expect(sim.runSockAddr(prog, { ip: '10.0.0.7', port: 80 })).toEqual({ allowed: true, retval: 1, ip: '10.0.0.7', port: 80 });
    expect(sim.runSockAddr(prog, { ip: '10.0.0.7', port: 25 }).allowed).toBe(false);
  });
});
