"""Connections whose sockets meet the bypass in awkward states (run inside the test's cgroup).

  preexisting.py blocked   A pair connected before the agent; a thread sleeps in a
                           blocking recv(1000, MSG_WAITALL) on the server end while the
                           agent takes the pair in. Prints "ready", waits for a stdin
                           line, then the client sends 1000 bytes in 10 sends and then
                           200 request/response rounds both ways; prints one JSON line.
  preexisting.py banner H P  Connects to H:P (a server outside the cgroup that speaks
                           first), leaves its 700-byte banner unread, sends one byte,
                           waits for its ACK, then reads: prints one JSON line.
"""
import hashlib, json, os, socket, sys, threading, time


def blocked():
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    c = socket.create_connection(srv.getsockname())
    s, _ = srv.accept()
    got = {}

    def reader():
        got['first'] = s.recv(1000, socket.MSG_WAITALL)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.2)  # the thread is asleep in recv
    print('ready', c.getsockname()[1], flush=True)
    sys.stdin.readline()
    for i in range(10):
        c.sendall(bytes([i]) * 100)
        time.sleep(0.02)
    t.join(10)
    out = {'first': len(got.get('first', b'')), 'firstOk': got.get('first') == b''.join(bytes([i]) * 100 for i in range(10))}
    errors = 0
    s.settimeout(10)
    c.settimeout(10)
    for r in range(200):
        msg = hashlib.sha256(b'%d' % r).digest() * (1 + r % 50)
        c.sendall(msg)
        buf = b''
        while len(buf) < len(msg):
            buf += s.recv(65536)
        s.sendall(buf[::-1])
        back = b''
        while len(back) < len(msg):
            back += c.recv(65536)
        errors += buf != msg or back != msg[::-1]
    out['rounds'] = 200
    out['errors'] = errors
    print(json.dumps(out), flush=True)
    sys.stdin.readline()


def banner(host, port):
    c = socket.create_connection((host, port))
    time.sleep(0.3)  # the banner arrives and waits unread
    c.sendall(b'x')
    time.sleep(0.5)  # its ACK comes back: an unpaired socket would leave the sockhash now
    c.settimeout(5)
    got = b''
    try:
        while len(got) < 700:
            part = c.recv(4096)
            if not part:
                break
            got += part
    except socket.timeout:
        pass
    print(json.dumps({'received': len(got), 'ok': got == b'BANNER-' * 100}), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'blocked':
        blocked()
    elif sys.argv[1] == 'banner':
        banner(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == 'banner-server':
        srv = socket.socket()
        srv.bind(('127.0.0.1', 0))
        srv.listen(1)
        print('listening', srv.getsockname()[1], flush=True)
        a, _ = srv.accept()
        a.sendall(b'BANNER-' * 100)
        a.recv(1)
        time.sleep(10)
