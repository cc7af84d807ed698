/**
 * The splice check. Node has no splice(2) and the addon does not expose it, so a short
 * python3 program (os.splice, Python 3.10+) runs the check on a socket pair of its own,
 * started straight into the probe's cgroup. Without python3 the check cannot run and
 * the fault counts as present (it is on Linux 6.18, see docs/mesh-kernel-faults.md).
 */
import { spawnSync } from 'node:child_process';

const SCRIPT = String.raw`
import json, os, socket, time, select
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
cli = socket.create_connection(srv.getsockname())
con, _ = srv.accept()
cli.sendall(b'x' * 1000)
time.sleep(0.2)
con.setblocking(False)
r, w = os.pipe()
out = {}
try:
    out['spliced'] = os.splice(con.fileno(), w, 1000, flags=os.SPLICE_F_NONBLOCK)
except BlockingIOError:
    out['spliced'] = -1
    out['error'] = 'EAGAIN'
except OSError as e:
    out['spliced'] = -1
    out['error'] = os.strerror(e.errno)
got = 0
deadline = time.time() + 2
while got < 1000 - max(out['spliced'], 0) and time.time() < deadline:
    select.select([con], [], [], 0.1)
    try:
        got += len(con.recv(65536))
    except BlockingIOError:
        pass
out['recv_after'] = got
print(json.dumps(out))
`;

export interface SpliceResult {
  ok: boolean;
  detail: string;
}

/** Run the splice check in `cgroup` (bytes are redirected there when the bypass is attached). */
export function checkSplice(cgroup: string): SpliceResult {
  const run = spawnSync('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && exec python3 -c "$2"', 'sh', cgroup, SCRIPT], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (run.error || run.status !== 0) {
    return { ok: false, detail: `could not run the splice check (python3 3.10+ needed): ${run.error?.message ?? run.stderr.trim().split('\n').pop()}` };
  }
  const out = JSON.parse(run.stdout) as { spliced: number; error?: string; recv_after: number };
  if (out.spliced === 1000) return { ok: true, detail: 'splice moved all 1000 waiting bytes' };
  return {
    ok: false,
    detail: `splice of 1000 waiting bytes gave ${out.error ?? `${out.spliced} bytes`} (recv then got ${out.recv_after}); a blocking splice would hang`,
  };
}

