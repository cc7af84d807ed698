/**
 * The bypass agent: checks the host, probes the kernel, loads bpf/mesh/mesh.o with its
 * maps pinned by name under a pin root (reusing existing pins, so an upgrade keeps every
 * bypassed connection and its policy), writes the policy and attaches with bpf_links.
 * Stopping closes (and unpins) the links; sockets already in the sockhash keep their
 * redirect until they close.
 */
import { existsSync, readdirSync, rmdirSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkPinnedMaps, loadCollection, type KernelCollection } from '../kernel/collection.js';
import { kernelSymbolAddress } from '../kernel/kallsyms.js';
import { KernelLink } from '../kernel/link.js';
import { attachMesh } from './attach.js';
import { checkCgroup, checkPrivileges, ensurePinRoot, MeshHostError } from './host.js';
import { MeshMaps } from './maps.js';
import { meshObjectSpec } from './object.js';
import { pickUpConnections, type PickupReport } from './pickup.js';
import { defaultPolicy, type MeshPolicy } from './policy.js';
import { probeKernel, type FaultName, type ProbeReport } from './probe.js';
import { alive, readState, removeState, writeState, type AgentState } from './state.js';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/bpfkit/mesh';
const SWEEP_INTERVAL_MS = 5000;

export interface MeshAgentOptions {
  /** cgroup v2 directory whose subtree is bypassed. */
  cgroup: string;
  /** bpffs directory for the maps (and pinned links). Default /sys/fs/bpf/bpfkit/mesh. */
  pinRoot?: string;
  /** Policy to write; default: keep the pinned one, or enable everything on fresh maps. */
  policy?: MeshPolicy;
  /** Faults to enable the bypass despite. */
  acceptFaults?: readonly FaultName[];
  /** Pin the links too, so the attachment outlives the agent until `mesh down`. */
  pinLinks?: boolean;
  /** Take in connections established before the agent started (default true). */
  pickUp?: boolean;
  /** A probe report to use instead of probing (tests of the agent's other parts). */
  probe?: ProbeReport;
  /** Progress messages. */
  log?: (line: string) => void;
}

/** The probe found faults nobody accepted. */
export class MeshFaultError extends Error {
  override readonly name = 'MeshFaultError';
  constructor(readonly report: ProbeReport, readonly faults: FaultName[]) {
    super(
      `refusing to enable the bypass: this kernel has ${faults.map((f) => `"${f}"`).join(', ')} ` +
        `(${report.findings.filter((x) => faults.includes(x.fault)).map((x) => x.detail).join('; ')}). ` +
        `Pass ${faults.map((f) => `--accept-fault ${f}`).join(' ')} to enable it anyway.`,
    );
  }
}

export class MeshAgent {
  readonly pinRoot: string;
  readonly cgroup: string;
  readonly maps: MeshMaps;
  readonly report: ProbeReport;
  readonly #collection: KernelCollection;
  readonly #links: Map<string, KernelLink>;
  readonly #pinnedLinks: string[];
  #state: AgentState;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** What taking in the connections established before the agent did (undefined when skipped). */
  readonly pickup: PickupReport | undefined;

  private constructor(parts: { pinRoot: string; cgroup: string; collection: KernelCollection; links: Map<string, KernelLink>; pinned: string[]; report: ProbeReport; state: AgentState; pickup?: PickupReport }) {
    this.pinRoot = parts.pinRoot;
    this.cgroup = parts.cgroup;
    this.#collection = parts.collection;
    this.maps = MeshMaps.fromCollection(parts.collection);
    this.#links = parts.links;
    this.#pinnedLinks = parts.pinned;
    this.report = parts.report;
    this.#state = parts.state;
    this.pickup = parts.pickup;
    // Connections taken in after the fact have no close callback: forget them once
    // closed. Only the startup pickup (or an earlier agent's) makes them, so the sweep
    // stops once none is left.
    this.#sweeper = setInterval(() => {
      try {
        if (this.maps.sweepPicked().remaining === 0) {
          clearInterval(this.#sweeper);
          this.#sweeper = undefined;
        }
      } catch {
        // maps closed under us: stop() clears the timer
      }
    }, SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  /** Check, probe, load, write the policy and attach. @throws MeshHostError, MeshFaultError, BpfError. */
  static async start(options: MeshAgentOptions): Promise<MeshAgent> {
    const log = options.log ?? (() => {});
    checkPrivileges();
    const cgroup = checkCgroup(options.cgroup);
    const pinRoot = options.pinRoot ?? DEFAULT_PIN_ROOT;

    // Probe before touching anything: a refusal leaves the host as it was.
    const report = options.probe ?? (await probeKernel());
    const accepted = new Set(options.acceptFaults ?? []);
    const refused = report.unfixed.filter((f) => !accepted.has(f));
    if (refused.length > 0) throw new MeshFaultError(report, refused);
    ensurePinRoot(pinRoot);
    for (const f of report.findings) log(`probe ${f.fault}: ${f.present ? (f.fixedByWorkaround ? 'present, worked around' : accepted.has(f.fault) ? 'present, ACCEPTED' : 'present') : 'ok'} — ${f.detail}`);

    // Pins left by an agent whose maps have other shapes cannot be reused: say so before
    // stopping anything, so a refused upgrade leaves the running agent as it was.
    const spec = meshObjectSpec();
    try {
      checkPinnedMaps(spec, pinRoot);
    } catch (e) {
      throw new MeshHostError(`${(e as Error).message}. These pins come from an incompatible bpfkit version: run "bpfkit mesh down --purge --pin-root ${pinRoot}" first (bypassed connections then move to TCP as they close).`);
    }
    // An agent already running on these pins (an upgrade): it must let go of the
    // sockhash first, which takes one program per attach type.
    await stopRunningAgent(pinRoot, log);
    detachPinnedLinks(pinRoot, log);

    const reused = MeshMaps.pinned(pinRoot);
    // Picked-up connections look for sleeping readers by their wake-up function.
    const woken = kernelSymbolAddress('woken_wake_function');
    if (woken === undefined) log('woken_wake_function is not in /proc/kallsyms: connections established before the agent stay on TCP');
    const collection = loadCollection(spec, { pinPath: pinRoot, variables: { woken_wake_function_address: woken ?? 0n } });
    try {
      const maps = MeshMaps.fromCollection(collection);
      if (options.policy || !reused || maps.generation() === 0) {
        const generation = maps.writePolicy(options.policy ?? defaultPolicy());
        log(`policy written (generation ${generation})`);
      } else {
        log(`kept the pinned policy (generation ${maps.generation()})`);
      }
      const links = attachMesh(collection, cgroup, { skbVerdict: report.skbVerdict });
      const pinned: string[] = [];
      if (options.pinLinks) {
        mkdirSync(join(pinRoot, 'links'), { recursive: true });
        for (const [name, link] of links) {
          const path = join(pinRoot, 'links', name);
          link.pin(path);
          pinned.push(path);
        }
      }
      const state: AgentState = {
        pid: process.pid,
        cgroup,
        pinRoot,
        startedAt: new Date().toISOString(),
        skbVerdict: report.skbVerdict,
        acceptedFaults: report.unfixed.filter((f) => accepted.has(f)),
        findings: report.findings,
        pinnedLinks: pinned.length > 0,
      };
      writeState(state);
      log(`attached to ${cgroup} (maps ${reused ? 'reused' : 'pinned'} under ${pinRoot}${report.skbVerdict ? ', sk_skb workaround on' : ''})`);
      let pickup: PickupReport | undefined;
      if (options.pickUp !== false) {
        pickup = pickUpConnections(collection, maps, cgroup);
        log(
          `picked up ${pickup.pickedUp} connection(s) established before the agent (${pickup.candidates} candidate socket(s); ` +
            `${pickup.policySkipped} kept out by policy, ${pickup.unpaired} without a local peer, ${pickup.mptcpSkipped} MPTCP)`,
        );
        for (const f of pickup.failures) log(`pickup: ${f}`);
      }
      return new MeshAgent({ pinRoot, cgroup, collection, links, pinned, report, state, pickup });
    } catch (e) {
      collection.close();
      throw e;
    }
  }

  /** Faults enabled despite the probe. */
  get acceptedFaults(): readonly FaultName[] {
    return this.#state.acceptedFaults;
  }

  /** Kernel ids of the links this agent holds (for checks that they are gone). */
  linkIds(): number[] {
    return [...this.#links.values()].map((l) => l.info().id);
  }

  /** Record where metrics are served (shown by status). */
  setMetricsAddress(address: string): void {
    this.#state = { ...this.#state, metrics: address };
    writeState(this.#state);
  }

  /** Apply a policy now; connections already bypassed re-check it on their next send. */
  applyPolicy(policy: MeshPolicy): number {
    return this.maps.writePolicy(policy);
  }

  /** Detach everything (links closed, pinned links unpinned); the pinned maps stay. Idempotent. */
  stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const path of this.#pinnedLinks.splice(0)) if (existsSync(path)) unlinkSync(path);
    for (const link of [...this.#links.values()].reverse()) link.close();
    this.#links.clear();
    this.#collection.close();
    removeState(this.pinRoot, process.pid);
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

/** SIGTERM the agent recorded for `pinRoot` (if alive and not us) and wait for it to exit. */
export async function stopRunningAgent(pinRoot: string, log: (line: string) => void = () => {}, waitMs = 10_000): Promise<boolean> {
  const state = readState(pinRoot);
  if (!state || state.pid === process.pid || !alive(state.pid)) return false;
  log(`stopping the running agent (pid ${state.pid})`);
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + waitMs;
  while (alive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(state.pid)) throw new Error(`the running agent (pid ${state.pid}) did not exit within ${waitMs} ms of SIGTERM`);
  return true;
}

/** Detach and unpin links pinned under `<pinRoot>/links` (left by an agent that pinned them). */
export function detachPinnedLinks(pinRoot: string, log: (line: string) => void = () => {}): number {
  const dir = join(pinRoot, 'links');
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const link = KernelLink.fromPin(path);
    try {
      link.detach();
    } finally {
      link.close();
    }
    unlinkSync(path);
    n++;
    log(`detached pinned link ${name}`);
  }
  rmdirSync(dir);
  return n;
}

/**
 * `bpfkit mesh down`: stop the agent, detach pinned links. `purge` also unpins the
 * maps: they (and the programs) are freed once the last bypassed socket closes.
 */
export async function meshDown(pinRoot = DEFAULT_PIN_ROOT, options: { purge?: boolean; log?: (line: string) => void } = {}): Promise<void> {
  checkPrivileges();
  const log = options.log ?? (() => {});
  await stopRunningAgent(pinRoot, log);
  detachPinnedLinks(pinRoot, log);
  removeState(pinRoot);
  if (options.purge && existsSync(pinRoot)) {
    for (const name of readdirSync(pinRoot)) unlinkSync(join(pinRoot, name));
    rmdirSync(pinRoot);
    log(`unpinned the maps under ${pinRoot}`);
  }
}
