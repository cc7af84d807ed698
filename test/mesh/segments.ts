/**
 * Counts TCP segments that carry payload arriving on an interface (`lo`, a pod's veth)
 * inside a network namespace the test owns, with iptables/ip6tables rule counters (no packet capture tool needed; the rules
 * die with the namespace). Redirected bytes skip netfilter, so a bypassed connection
 * shows only its handshake, ACKs and FINs here, and a control connection shows its data.
 */
import { execFileSync } from 'node:child_process';

/** A pure ACK/FIN with TCP timestamps: IP header + 32-byte TCP header. Anything longer carries data. */
const HEADER_BYTES = { 4: 20 + 32, 6: 40 + 32 } as const;

export class PayloadCounter {
  readonly #netns: string;
  readonly #family: 4 | 6;
  readonly #comment: string;

  /** Start counting segments to or from `port` that arrive on `iface` in `netns`. */
  constructor(netns: string, family: 4 | 6, port: number, iface = 'lo') {
    this.#netns = netns;
    this.#family = family;
    this.#comment = `bpfkit-payload-${iface}-${port}`;
    // SYN and SYN-ACK carry options that make them longer than an ACK: leave them out.
    this.#tables(['-A', 'INPUT', '-i', iface, '-p', 'tcp', '--tcp-flags', 'SYN', 'NONE', '-m', 'multiport', '--ports', String(port),
      '-m', 'length', '--length', `${HEADER_BYTES[family] + 1}:65535`, '-m', 'comment', '--comment', this.#comment]);
  }

  /** Payload-carrying segments counted so far. */
  segments(): number {
    const listing = this.#tables(['-L', 'INPUT', '-n', '-v', '-x']);
    const line = listing.split('\n').find((l) => l.includes(`/* ${this.#comment} */`));
    if (!line) throw new Error(`counter rule ${this.#comment} not found in:\n${listing}`);
    return Number(line.trim().split(/\s+/)[0]);
  }

  #tables(args: string[]): string {
    const tool = this.#family === 4 ? 'iptables' : 'ip6tables';
    return execFileSync('ip', ['netns', 'exec', this.#netns, tool, ...args], { stdio: 'pipe' }).toString();
  }
}
