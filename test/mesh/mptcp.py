"""An MPTCP connection over 127.0.0.1 (run inside the bypass's cgroup): echo 100 kB,
print its client port and whether the bytes came back intact, then wait for a stdin line."""
import json, os, socket, sys

IPPROTO_MPTCP = 262
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
srv.bind(('127.0.0.1', 0))
srv.listen(1)
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
cli.connect(srv.getsockname())
con, _ = srv.accept()
data = os.urandom(100_000)
cli.sendall(data)
got = b''
while len(got) < len(data):
    got += con.recv(65536)
con.sendall(got)
back = b''
while len(back) < len(data):
    back += cli.recv(65536)
print(json.dumps({'port': cli.getsockname()[1], 'intact': back == data}), flush=True)
sys.stdin.readline()
