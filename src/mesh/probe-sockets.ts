/**
 * Node TCP socket pairs for the startup probe: a server side that does not read until
 * told to (so FIONREAD can be asked with data waiting), FIONREAD through the addon's
 * ioctl, and reads with a deadline.
 */
import { createHash } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { native } from '../kernel/native.js';

const FIONREAD = 0x541b;

export interface ProbePair {
  client: Socket;
  /** Accepted with pauseOnConnect: it reads nothing until resumed. */
  server: Socket;
  close(): void;
}

/** Open a connected pair over 127.0.0.1. */
export async function openPair(): Promise<ProbePair> {
  const listener: Server = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (listener.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('error', reject);
    client.once('connect', () => resolve());
  });
  const server = await accepted;
  listener.close();
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
    },
  };
}

/** The fd under a Node socket (Linux: the libuv TCP handle's fd). */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no fd');
  return fd;
}

/** ioctl(FIONREAD): bytes the kernel says are waiting to be read. */
export function fionread(socket: Socket): number {
  const out = new Int32Array(1);
  const r = native().ioctl(socketFd(socket), FIONREAD, out);
  if (r < 0) throw new Error(`ioctl(FIONREAD) failed: errno ${-r}`);
  return out[0]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll FIONREAD until it reports at least `want` bytes or `ms` pass; returns the last answer. */
export async function fionreadWithin(socket: Socket, want: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let n = fionread(socket);
  while (n < want && Date.now() < deadline) {
    await sleep(10);
    n = fionread(socket);
  }
  return n;
}

/** Resume `socket` and collect exactly `length` bytes, or fewer if `ms` pass first. */
export function readExactly(socket: Socket, length: number, ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= length) finish();
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', onData);
    socket.resume();
  });
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
