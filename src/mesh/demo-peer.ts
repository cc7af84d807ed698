/**
 * The two local services of `bpfkit mesh demo` (run as separate processes so the demo
 * can start them in cgroups): an echo server, and a client that measures request/
 * response latency or bulk throughput and prints one JSON line.
 *
 *   demo-peer server            prints {"port": N}
 *   demo-peer rr PORT SIZE CONNS REQUESTS
 *   demo-peer bulk PORT BYTES
 */
import { connect, createServer, type Socket } from 'node:net';

const [mode, ...rest] = process.argv.slice(2);

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

async function rr(port: number, size: number, conns: number, requests: number): Promise<void> {
  const sockets = await Promise.all(Array.from({ length: conns }, () => open(port)));
  const latencies: number[] = [];
  const payload = Buffer.alloc(size, 7);
  const start = process.hrtime.bigint();
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          let done = 0;
          let got = 0;
          let t0 = process.hrtime.bigint();
          s.on('data', (chunk: Buffer) => {
            got += chunk.length;
            if (got < size) return;
            got -= size;
            latencies.push(Number(process.hrtime.bigint() - t0));
            if (++done === requests) return resolve();
            t0 = process.hrtime.bigint();
            s.write(payload);
          });
          s.write(payload);
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  for (const s of sockets) s.destroy();
  process.stdout.write(JSON.stringify({ p50_us: percentile(latencies, 50) / 1e3, p99_us: percentile(latencies, 99) / 1e3, rps: latencies.length / seconds }) + '\n');
}

async function bulk(port: number, bytes: number): Promise<void> {
  const s = await open(port);
  const chunk = Buffer.alloc(65536, 1);
  const start = process.hrtime.bigint();
  let sent = 0;
  while (sent < bytes) {
    sent += chunk.length;
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
  await new Promise<void>((r) => s.end(r));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  s.destroy();
  process.stdout.write(JSON.stringify({ mb_per_s: sent / 1e6 / seconds }) + '\n');
}

if (mode === 'server') {
  const server = createServer({ noDelay: true }, (s) => s.on('data', (d: Buffer) => s.write(d)).on('error', () => s.destroy()));
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n'));
} else if (mode === 'rr') {
  const [port, size, conns, requests] = rest.map(Number);
  void rr(port!, size!, conns!, requests!);
} else if (mode === 'bulk') {
  const [port, bytes] = rest.map(Number);
  void bulk(port!, bytes!);
} else {
  process.stderr.write('usage: demo-peer server | rr PORT SIZE CONNS REQUESTS | bulk PORT BYTES\n');
  process.exitCode = 2;
}
