/**
 * Node.js request/response peer for `npm run bench:mesh`, speaking rr.c's protocol
 * (first 8 bytes: request size, 0 = bulk sink), so either side can face either.
 *
 *   node --import tsx bench/mesh/rr-node.ts server PORT
 *   node --import tsx bench/mesh/rr-node.ts client HOST PORT --size S --conns C --requests N
 *
 * The client prints one JSON line like rr.c: requests, p50_ns, p99_ns, rps, timeouts, errors.
 * CPU pinning is done by the harness (taskset), not here.
 */
import { createConnection, createServer, type Socket } from 'node:net';

function opt(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** Collects exactly `n` bytes at a time from a stream socket. */
class Framer {
  private chunks: Buffer[] = [];
  private have = 0;
  constructor(
    private readonly n: () => number,
    private readonly onFrame: (frame: Buffer) => void,
  ) {}
  push(data: Buffer): void {
    this.chunks.push(data);
    this.have += data.length;
    while (this.have >= this.n()) {
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const n = this.n();
      const frame = all.subarray(0, n);
      const rest = all.subarray(n);
      this.chunks = rest.length ? [rest] : [];
      this.have = rest.length;
      this.onFrame(frame);
    }
  }
}

function server(port: number): void {
  const srv = createServer({ noDelay: true }, (sock: Socket) => {
    let size = -1;
    const framer = new Framer(
      () => (size < 0 ? 8 : size || Number.MAX_SAFE_INTEGER),
      (frame) => {
        if (size < 0) {
          size = Number(frame.readBigUInt64LE(0));
          return;
        }
        sock.write(frame);
      },
    );
    sock.on('data', (d: Buffer) => (size === 0 ? undefined : framer.push(d)));
    sock.on('error', () => sock.destroy());
  });
  srv.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ listening: port })));
}

async function client(host: string, port: number): Promise<void> {
  const size = opt('--size', 64);
  const conns = opt('--conns', 1);
  const requests = opt('--requests', 10000);
  const timeoutMs = opt('--timeout-ms', 5000);
  const latencies: number[] = [];
  let timeouts = 0;
  let errors = 0;
  const payload = Buffer.alloc(size);
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(size));
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const sock = createConnection({ host, port, noDelay: true });
      let done = 0;
      let t0 = 0n;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        sock.destroy();
        resolve();
      };
      const send = (): void => {
        timer = setTimeout(() => {
          timeouts++;
          finish();
        }, timeoutMs);
        t0 = process.hrtime.bigint();
        sock.write(payload);
      };
      const framer = new Framer(
        () => size,
        () => {
          latencies.push(Number(process.hrtime.bigint() - t0));
          clearTimeout(timer);
          if (++done === requests) finish();
          else send();
        },
      );
      sock.on('connect', () => {
        sock.write(header);
        send();
      });
      sock.on('data', (d: Buffer) => framer.push(d));
      sock.on('error', () => {
        errors++;
        finish();
      });
    });
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: conns }, one));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  console.log(
    JSON.stringify({ requests: latencies.length, p50_ns: at(0.5), p99_ns: at(0.99), rps: latencies.length / seconds, timeouts, errors }),
  );
  process.exitCode = timeouts || errors ? 1 : 0;
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'server' && a) server(Number(a));
else if (mode === 'client' && a && b) void client(a, Number(b));
else {
  console.error('usage: rr-node.ts server PORT | client HOST PORT --size S --conns C --requests N');
  process.exit(2);
}
