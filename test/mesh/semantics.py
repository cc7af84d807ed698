"""Socket semantics a bypassed connection must keep (run inside or outside the bypass).

Prints one JSON line with what it saw and the client ports of its connections, then
waits for a stdin line before closing them (so the test can read their counters).
"""
import fcntl, hashlib, json, os, select, socket, struct, sys, termios, time


def fionread(s):
    return struct.unpack('i', fcntl.ioctl(s.fileno(), termios.FIONREAD, b'\0\0\0\0'))[0]


def wait_fionread(s, want, timeout=2.0):
    deadline = time.time() + timeout
    n = fionread(s)
    while n < want and time.time() < deadline:
        time.sleep(0.01)
        n = fionread(s)
    return n


srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(4)


def pair():
    c = socket.create_connection(srv.getsockname())
    s, _ = srv.accept()
    return c, s


out = {}
c, s = pair()
c.sendall(b'a' * 1000)
out['fionread'] = wait_fionread(s, 1000)
r, _, _ = select.select([s], [], [], 2)
out['readable'] = bool(r)
got = b''
while len(got) < 1000:
    got += s.recv(4096)
out['recv'] = len(got)
r, _, _ = select.select([s], [], [], 0)
out['readable_when_drained'] = bool(r)
c.shutdown(socket.SHUT_WR)
r, _, _ = select.select([s], [], [], 2)
out['eof_readable'] = bool(r)
out['eof'] = s.recv(10) == b''
s.sendall(b'b' * 500)  # the other direction still works after the half-close
out['fionread_back'] = wait_fionread(c, 500)
out['recv_back'] = len(c.recv(4096))

# Backpressure: a receiver that does not read blocks its sender, with memory bounded.
c2, s2 = pair()
c2.setblocking(False)
chunk = os.urandom(65536)
sent, h = 0, hashlib.sha256()
deadline = time.time() + 10
while time.time() < deadline:
    try:
        n = c2.send(chunk)
        sent += n
        h.update(chunk[:n])
    except BlockingIOError:
        r, w, _ = select.select([], [c2], [], 0.5)
        if not w:
            break
out['blocked'] = time.time() < deadline
out['accepted_before_blocking'] = sent
s2.settimeout(5)
got, h2 = 0, hashlib.sha256()
while got < sent:
    d = s2.recv(1 << 20)
    got += len(d)
    h2.update(d)
out['backpressure_intact'] = h.hexdigest() == h2.hexdigest()
out['ports'] = [c.getsockname()[1], c2.getsockname()[1]]
print(json.dumps(out), flush=True)
sys.stdin.readline()
