/**
 * The startup probe: before enabling the bypass, check this kernel for the known
 * sockmap faults on socket pairs of the probe's own, in a private child cgroup with a
 * private (unpinned) copy of the programs and maps. Where a workaround exists (the
 * no-op sk_skb stream verdict for FIONREAD/readiness with TCP-path bytes) the probe
 * checks that it really fixes the fault and asks for it.
 */
import { loadCollection, type KernelCollection } from '../kernel/collection.js';
import { BpfError } from '../kernel/errors.js';
import { AttachType } from '../uapi/index.js';
import { attachSockMap } from '../kernel/attach.js';
import type { KernelLink } from '../kernel/link.js';
import { attachMesh } from './attach.js';
import { ScratchCgroup } from './cgroup.js';
import { MeshMaps } from './maps.js';
import { MeshPrograms, meshObjectSpec } from './object.js';
import { defaultPolicy } from './policy.js';
import { checkSplice } from './probe-splice.js';
import { fionreadWithin, openPair, readExactly, sha256, sleep, socketFd, type ProbePair } from './probe-sockets.js';

/** Faults the probe knows, by the name `--accept-fault` takes. */
export const FAULT_NAMES = ['fionread', 'readiness', 'splice', 'large-send', 'not-redirected', 'second-sockmap'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface ProbeFinding {
  fault: FaultName;
  /** Present on this kernel (before any workaround)? */
  present: boolean;
  /** Fixed by the sk_skb stream verdict workaround. */
  fixedByWorkaround: boolean;
  detail: string;
}

export interface ProbeReport {
  findings: ProbeFinding[];
  /** Attach mesh_skb_verdict: it fixes a fault found here. */
  skbVerdict: boolean;
  /** Faults present and not fixed: the bypass must not be enabled unless each is accepted. */
  unfixed: FaultName[];
}

const WAIT_MS = 2000;
const PROBE_BYTES = 1000;
const LARGE = 4 << 20;

/** Run every check. `cgroupName`: the private cgroup's name under the cgroup2 root. */
export async function probeKernel(cgroupName = `bpfkit-mesh-probe-${process.pid}`): Promise<ProbeReport> {
  using cgroup = new ScratchCgroup(cgroupName);
  using collection = loadCollection(meshObjectSpec({ pinned: false }));
  const maps = MeshMaps.fromCollection(collection);
  maps.writePolicy(defaultPolicy());
  const findings: ProbeFinding[] = [];

  const plain = await withLinks(collection, cgroup.path, false, () => checkPairs(cgroup, maps));
  findings.push(plain.redirected, plain.large);
  let fionread = plain.tcpFionread;
  let readiness = plain.tcpReadiness;
  let skbVerdict = false;
  if (fionread.present || readiness.present) {
    const fixed = await withLinks(collection, cgroup.path, true, () => checkPairs(cgroup, maps));
    const works = !fixed.tcpFionread.present && !fixed.tcpReadiness.present && !fixed.redirected.present && !fixed.large.present;
    if (works) {
      skbVerdict = true;
      const fix = (f: ProbeFinding): ProbeFinding => (f.present ? { ...f, fixedByWorkaround: true, detail: `${f.detail}; fixed by the sk_skb stream verdict` } : f);
      fionread = fix(fionread);
      readiness = fix(readiness);
    }
  }
  findings.push(fionread, readiness);
  const splice = await withLinks(collection, cgroup.path, skbVerdict, async () => checkSplice(cgroup.path));
  findings.push({ fault: 'splice', present: !splice.ok, fixedByWorkaround: false, detail: splice.detail });
  findings.push(await withLinks(collection, cgroup.path, skbVerdict, () => checkSecondSockmap(cgroup)));
  return { findings, skbVerdict, unfixed: findings.filter((f) => f.present && !f.fixedByWorkaround).map((f) => f.fault) };
}

async function withLinks<T>(collection: KernelCollection, cgroup: string, skbVerdict: boolean, run: () => Promise<T>): Promise<T> {
  const links: Map<string, KernelLink> = attachMesh(collection, cgroup, { skbVerdict });
  try {
    return await run();
  } finally {
    for (const l of [...links.values()].reverse()) l.close();
  }
}

interface PairChecks {
  redirected: ProbeFinding;
  large: ProbeFinding;
  tcpFionread: ProbeFinding;
  tcpReadiness: ProbeFinding;
}

/**
 * A bypassed socket must not join a second sockmap whose programs differ (another eBPF
 * tool's): the kernel should refuse with EBUSY rather than let two sets of programs
 * fight over one socket.
 */
async function checkSecondSockmap(cgroup: ScratchCgroup): Promise<ProbeFinding> {
  using other = loadCollection(meshObjectSpec({ pinned: false }));
  const otherSocks = other.map('mesh_socks');
  using _link = attachSockMap(other.program(MeshPrograms.redirect), otherSocks, AttachType.SK_MSG_VERDICT);
  const pair = await cgroup.inside(openPair);
  try {
    const key = new Uint8Array(8);
    key[0] = 1;
    try {
      otherSocks.updateFd(key, socketFd(pair.server));
    } catch (e) {
      if (e instanceof BpfError && e.code === 'EBUSY') return finding('second-sockmap', false, 'a bypassed socket cannot join a second sockmap with other programs (EBUSY)');
      return finding('second-sockmap', true, `joining a second sockmap failed with ${(e as Error).message}, not EBUSY`);
    }
    return finding('second-sockmap', true, 'a bypassed socket joined a second sockmap with other programs (expected EBUSY)');
  } finally {
    pair.close();
  }
}

function finding(fault: FaultName, present: boolean, detail: string): ProbeFinding {
  return { fault, present, fixedByWorkaround: false, detail };
}

async function checkPairs(cgroup: ScratchCgroup, maps: MeshMaps): Promise<PairChecks> {
  const pairs: ProbePair[] = [];
  try {
    const [a, b] = await cgroup.inside(async () => [await openPair(), await openPair()] as const);
    pairs.push(a, b);

    // Redirected bytes: FIONREAD, readiness, and that they were redirected at all.
    const before = maps.counters().redirected_bytes;
    a.client.write(Buffer.alloc(PROBE_BYTES, 1));
    const waiting = await fionreadWithin(a.server, PROBE_BYTES, WAIT_MS);
    const got = await readExactly(a.server, PROBE_BYTES, WAIT_MS);
    const redirectedBytes = maps.counters().redirected_bytes - before;
    const redirected =
      redirectedBytes < BigInt(PROBE_BYTES)
        ? finding('not-redirected', true, `the probe's own connection was not redirected (${redirectedBytes} bytes)`)
        : waiting !== PROBE_BYTES || got.length !== PROBE_BYTES
          ? finding('fionread', true, `redirected bytes: FIONREAD ${waiting} and ${got.length} read of ${PROBE_BYTES} waiting`)
          : finding('not-redirected', false, `redirected ${redirectedBytes} bytes; FIONREAD and readiness correct`);

    // Large sends both ways, intact and in order.
    const big = Buffer.alloc(LARGE);
    for (let i = 0; i < LARGE; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    a.client.write(big);
    a.server.write(big);
    const [there, back] = await Promise.all([readExactly(a.server, LARGE, 10_000), readExactly(a.client, LARGE, 10_000)]);
    const intact = sha256(there) === sha256(big) && sha256(back) === sha256(big);
    const large = finding('large-send', !intact, intact ? '4 MiB each way arrived intact' : `4 MiB sends arrived damaged (${there.length} and ${back.length} bytes, hash mismatch)`);

    // TCP-path bytes into a socket that sits in the sockhash: switch the policy off so
    // the client's sends fall back to TCP, then ask the server side.
    maps.writePolicy({ ...defaultPolicy(), enabled: false });
    b.client.write(Buffer.alloc(PROBE_BYTES, 2));
    await sleep(100); // loopback delivery is immediate; give the softirq a moment
    const tcpWaiting = await fionreadWithin(b.server, PROBE_BYTES, WAIT_MS);
    const tcpGot = await readExactly(b.server, PROBE_BYTES, WAIT_MS);
    maps.writePolicy(defaultPolicy());
    return {
      redirected,
      large,
      tcpFionread: finding('fionread', tcpWaiting !== PROBE_BYTES, `FIONREAD with ${PROBE_BYTES} TCP-path bytes waiting on a sockhash socket: ${tcpWaiting}`),
      tcpReadiness: finding('readiness', tcpGot.length !== PROBE_BYTES, `readiness with TCP-path bytes: ${tcpGot.length} of ${PROBE_BYTES} read within ${WAIT_MS} ms`),
    };
  } finally {
    for (const p of pairs) p.close();
  }
}
