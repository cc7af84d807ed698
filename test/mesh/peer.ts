/**
 * Test peer for the bypass's integrity tests (run as its own process, so tests can put
 * it in a cgroup or network namespace).
 *
 *   peer.ts server HOST [--port N] prints "listening PORT", then "accepted CLIENTPORT" per connection
 *   peer.ts client HOST PORT --conns N --rounds R [--max-size B] [--pause-after R] [--hold]
 *
 * Per round and connection the client sends a frame [u32 len][u32 replyLen][u32 seed]
 * [len bytes from seed]; the server starts its reply at once (replyLen bytes from
 * seed+1, streaming while the request still arrives), then one status byte: 1 when the
 * request matched byte for byte. The client compares the reply byte for byte. At the
 * end the client half-closes; the server answers the EOF with [u32 frames verified]
 * and half-closes too. Sizes are log-uniform in 1 B .. max-size.
 * --pause-after R: after round R print "paused PORTS" and wait for a stdin line.
 * --hold: before closing print "holding PORTS" and wait for a stdin line.
 * Finally prints one JSON line {"ok", "errors", "frames", "bytes"}.
 */
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

function pattern(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (; i < length; i++) out[i] = (x >>> (8 * (i & 3))) & 0xff;
  return out;
}

/** Reads exact byte counts from a socket. */
class Reader {
  #chunks: Buffer[] = [];
  #have = 0;
  #waiter: (() => void) | undefined;
  ended = false;
  constructor(socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#have += c.length;
      this.#waiter?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#waiter?.();
    });
    socket.on('error', () => {
      this.ended = true;
      this.#waiter?.();
    });
  }
  async read(n: number): Promise<Buffer | undefined> {
    while (this.#have < n) {
      if (this.ended) return undefined;
      await new Promise<void>((r) => (this.#waiter = r));
      this.#waiter = undefined;
    }
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [all.subarray(n)];
    this.#have -= n;
    return all.subarray(0, n);
  }
}

const stdinLine = (() => {
  let rl: ReturnType<typeof createInterface> | undefined;
  return () =>
    new Promise<void>((resolve) => {
      rl ??= createInterface({ input: process.stdin });
      rl.once('line', () => resolve());
    });
})();

async function serve(socket: Socket): Promise<void> {
  const reader = new Reader(socket);
  let frames = 0;
  for (;;) {
    const header = await reader.read(12);
    if (!header) break;
    const len = header.readUInt32LE(0);
    const replyLen = header.readUInt32LE(4);
    const seed = header.readUInt32LE(8);
    socket.write(pattern(seed + 1, replyLen));
    const body = await reader.read(len);
    const ok = body !== undefined && body.equals(pattern(seed, len));
    if (ok) frames++;
    socket.write(Buffer.from([ok ? 1 : 0]));
  }
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(frames);
  socket.end(tail);
}

async function server(host: string, port: number): Promise<void> {
  const srv = createServer({ allowHalfOpen: true }, (s) => {
    process.stdout.write(`accepted ${s.remotePort}\n`);
    void serve(s);
  });
  srv.listen(port, host, () => process.stdout.write(`listening ${(srv.address() as { port: number }).port}\n`));
}

interface Options {
  conns: number;
  rounds: number;
  maxSize: number;
  pauseAfter: number;
  hold: boolean;
}

function size(max: number): number {
  return Math.max(1, Math.min(max, Math.floor(Math.exp(Math.random() * Math.log(max)))));
}

async function client(host: string, port: number, o: Options): Promise<void> {
  const sockets = await Promise.all(
    Array.from({ length: o.conns }, () => new Promise<Socket>((resolve, reject) => {
      const s = connect({ port, host, allowHalfOpen: true }, () => resolve(s));
      s.once('error', reject);
    })),
  );
  const readers = sockets.map((s) => new Reader(s));
  const ports = () => sockets.map((s) => s.localPort).join(',');
  let errors = 0;
  let frames = 0;
  let bytes = 0;
  const round = (i: number) =>
    Promise.all(
      sockets.map(async (s, c) => {
        const len = size(o.maxSize);
        const replyLen = size(o.maxSize);
        const seed = (Math.random() * 2 ** 32) >>> 0;
        const header = Buffer.alloc(12);
        header.writeUInt32LE(len, 0);
        header.writeUInt32LE(replyLen, 4);
        header.writeUInt32LE(seed, 8);
        s.write(header);
        s.write(pattern(seed, len));
        const reply = await readers[c]!.read(replyLen + 1);
        if (!reply || !reply.subarray(0, replyLen).equals(pattern(seed + 1, replyLen)) || reply[replyLen] !== 1) {
          errors++;
          process.stderr.write(`connection ${c} round ${i}: ${reply ? 'mismatch' : 'ended early'}\n`);
        } else {
          frames++;
          bytes += len + replyLen;
        }
      }),
    );
  for (let i = 1; i <= o.rounds; i++) {
    await round(i);
    if (i === o.pauseAfter) {
      process.stdout.write(`paused ${ports()}\n`);
      await stdinLine();
    }
  }
  if (o.hold) {
    process.stdout.write(`holding ${ports()}\n`);
    await stdinLine();
  }
  await Promise.all(
    sockets.map(async (s, c) => {
      s.end();
      const tail = await readers[c]!.read(4);
      if (!tail || tail.readUInt32LE(0) !== o.rounds || !(await waitEnd(readers[c]!))) {
        errors++;
        process.stderr.write(`connection ${c}: bad close (${tail?.readUInt32LE(0)} frames verified by the server)\n`);
      }
      s.destroy();
    }),
  );
  process.stdout.write(JSON.stringify({ ok: errors === 0, errors, frames, bytes }) + '\n');
  process.exit(0);
}

async function waitEnd(r: Reader): Promise<boolean> {
  return (await r.read(1)) === undefined && r.ended;
}

const [mode, host = '127.0.0.1', portText] = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
if (mode === 'server') void server(host, flag('port', 0));
else if (mode === 'client')
  void client(host, Number(portText), {
    conns: flag('conns', 1),
    rounds: flag('rounds', 1),
    maxSize: flag('max-size', 1 << 20),
    pauseAfter: flag('pause-after', 0),
    hold: process.argv.includes('--hold'),
  });
else {
  process.stderr.write('usage: peer.ts server HOST | client HOST PORT --conns N --rounds R\n');
  process.exit(2);
}
