/**
 * ProcessHandle and socketCookie on the real kernel: a socket held by another process is
 * duplicated into this one and has the same cookie there; gone processes and fds are
 * undefined, not errors.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { closeFd } from '../../src/kernel/link.js';
import { ProcessHandle, socketCookie } from '../../src/kernel/process-fd.js';
import { describeKernel } from './support.js';

const fdOf = (s: Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;

describeKernel('process fds', () => {
  it('duplicates a socket of another process: the same socket (same cookie) in this one', async () => {
    // A child that connects to us with its fd 3 being the socket.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const child = spawn('python3', ['-c', `import socket,os,sys,time\ns=socket.create_connection(('127.0.0.1',${port}))\nos.dup2(s.fileno(),3)\nprint(int.from_bytes(s.getsockopt(socket.SOL_SOCKET,57,8),'little'),flush=True)\ntime.sleep(30)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const reported = BigInt((await new Promise<Buffer>((r) => child.stdout!.once('data', r))).toString().trim());
      const ours = await accepted;
      using handle = ProcessHandle.open(child.pid!)!;
      expect(handle).toBeDefined();
      const dup = handle.duplicate(3)!;
      expect(dup).toBeGreaterThan(2);
      // The duplicate is the child's socket (the cookie it reported), not our end of it.
      expect(socketCookie(dup)).toBe(reported);
      expect(socketCookie(fdOf(ours))).not.toBe(reported);
      expect(handle.duplicate(987)).toBeUndefined(); // no such fd there
      closeFd(dup);
      ours.destroy();
    } finally {
      child.kill('SIGKILL');
      server.close();
    }
    await new Promise((r) => child.once('exit', r));
    expect(ProcessHandle.open(child.pid!)).toBeUndefined(); // reaped: gone
  }, 30_000);

  it('socketCookie is undefined for an fd that is not a socket', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      expect(socketCookie(fd)).toBeUndefined();
    } finally {
      closeSync(fd);
    }
  });
});
