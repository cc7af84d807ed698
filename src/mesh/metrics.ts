/**
 * Prometheus text exposition of the bypass's counters, and the agent's HTTP endpoint
 * (/metrics, /healthz), on loopback unless told otherwise.
 */
import { createServer, type Server } from 'node:http';
import { MESH_STATS } from './layout.js';
import type { MeshConnection, MeshCounters } from './maps.js';

const HELP: Record<(typeof MESH_STATS)[number], string> = {
  redirected_msgs: 'Sends redirected straight to the peer socket.',
  redirected_bytes: 'Bytes redirected straight to the peer socket.',
  passed_msgs: 'Sends of bypass sockets that took the normal TCP path.',
  passed_bytes: 'Bytes of bypass sockets that took the normal TCP path.',
  misses: 'Sends on a sockhash socket with no connection record.',
  fallbacks: 'Connections moved to the normal path (policy, no peer).',
  inserted: 'Sockets put in the sockhash.',
  paired: 'Connections paired.',
  unpaired_removed: 'Client sockets removed: no local peer.',
  policy_skipped: 'Connections the policy kept out.',
  mptcp_skipped: 'MPTCP connections left on the normal path.',
  closed: 'Bypass sockets closed.',
  insert_failed: 'Sockets the sockhash refused.',
  removal_deferred: 'Unpaired sockets kept in the sockhash for now: unread bytes were queued on them.',
};

export interface MetricsSnapshot {
  counters: MeshCounters;
  connections: MeshConnection[];
  acceptedFaults: readonly string[];
}

/** The Prometheus text for one snapshot. */
export function formatMetrics(s: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const name of MESH_STATS) {
    lines.push(`# HELP bpfkit_mesh_${name}_total ${HELP[name]}`, `# TYPE bpfkit_mesh_${name}_total counter`, `bpfkit_mesh_${name}_total ${s.counters[name]}`);
  }
  const redirecting = s.connections.filter((c) => c.state === 'redirect').length;
  lines.push('# HELP bpfkit_mesh_sockets Sockets the bypass knows now, by state.', '# TYPE bpfkit_mesh_sockets gauge');
  for (const state of ['redirect', 'pending', 'picked', 'tcp'] as const) lines.push(`bpfkit_mesh_sockets{state="${state}"} ${state === 'redirect' ? redirecting : s.connections.filter((c) => c.state === state).length}`);
  lines.push('# HELP bpfkit_mesh_accepted_fault Kernel faults the bypass runs with (accepted by --accept-fault).', '# TYPE bpfkit_mesh_accepted_fault gauge');
  for (const f of s.acceptedFaults) lines.push(`bpfkit_mesh_accepted_fault{fault="${f}"} 1`);
  return lines.join('\n') + '\n';
}

/** Split "HOST:PORT" (IPv6 in brackets); a bare port means 127.0.0.1. */
export function parseAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--metrics ${text}: expected HOST:PORT, [IPV6]:PORT or PORT`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** Serve /metrics and /healthz; resolves with the server once listening. */
export async function serveMetrics(address: string, snapshot: () => MetricsSnapshot, healthy: () => boolean): Promise<Server> {
  const { host, port } = parseAddress(address);
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      try {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(formatMetrics(snapshot()));
      } catch (e) {
        res.writeHead(500).end(`${(e as Error).message}\n`);
      }
    } else if (req.url === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503).end(ok ? 'ok\n' : 'not attached\n');
    } else {
      res.writeHead(404).end('try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
