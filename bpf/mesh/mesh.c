// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * bpfkit's same-host TCP bypass.
 *
 * sockops sees each TCP connection in the attached cgroup complete its handshake. Both
 * ends compute the same pairing key from the handshake's sequence numbers; the client
 * registers under it and the server, finding it, pairs the two sockets and puts both
 * in mesh_socks. The sk_msg program on mesh_socks then redirects each send straight
 * into the peer's receive queue, skipping the TCP/IP stack.
 *
 * A direction is redirected from its first byte or never: bytes already on the TCP path
 * could be overtaken by redirected ones. Dropping back to TCP is always safe (the
 * receiver drains redirected bytes first), so policy changes and failed redirects move
 * a connection to the normal path for good.
 *
 * Connections established before the agent started are taken in by the agent (it reads
 * their sequence numbers with the mesh_scan iterator and inserts both sockets from user
 * space, into mesh_picked_socks). A thread may already sleep in a plain TCP receive on
 * such a socket, and it would never see bytes queued on the psock: so that map has no
 * stream verdict (TCP bytes stay where that thread looks), and a direction starts
 * redirecting only once the receiver is seen outside any receive call and nothing of the
 * direction is in flight or unread (MESH_CONN_PICKED, see may_start_redirect).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/socket.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "mesh.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define TCP_CLOSE 7

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, MESH_MAX_CONNS);
	__type(key, __u64);	/* socket cookie */
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_socks SEC(".maps");

/* Sockets of connections taken in after they were established: the same sk_msg program,
 * never a stream verdict (see the top of this file). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, MESH_MAX_CONNS);
	__type(key, __u64);	/* socket cookie */
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_picked_socks SEC(".maps");

/* Kernel address of woken_wake_function, the wake-up function of a task sleeping in a
 * socket receive or send (the agent sets it from /proc/kallsyms before load; 0: unknown,
 * and picked-up connections then never start redirecting). */
const volatile __u64 woken_wake_function_address = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MESH_MAX_CONNS);
	__type(key, __u64);	/* socket cookie */
	__type(value, struct mesh_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_conns SEC(".maps");

/* Clients waiting for their server's half of the handshake. LRU: a client whose peer
 * is not on this host never completes, and its entry must not hold a slot forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mesh_pair_key);
	__type(value, __u64);	/* client socket cookie */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mesh_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct mesh_cidr_key);
	__type(value, __u32);	/* enum mesh_cidr_action */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_cidrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MESH_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_stats SEC(".maps");

/* Each bypassed socket's own cookie, stored on the socket: sk_msg programs cannot call
 * bpf_get_socket_cookie, but they can read socket storage. Freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} mesh_sk_cookie SEC(".maps");

/* Sockets the agent wants the scan to report (value: their cookie). The agent fills it
 * with duplicates of the fds of processes in the cgroup, runs mesh_scan, and empties it. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} mesh_scan_socks SEC(".maps");

static __always_inline void count(__u32 stat, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&mesh_stats, &stat);

	if (v)
		*v += n;
}

static __always_inline int is_v4_mapped(const __u32 *ip6)
{
	return ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0x0000ffff);
}

static __always_inline int port_in(const struct mesh_port_range *ranges, __u32 n, __u32 port)
{
	/* A bounded loop: the verifier walks it (n is capped by the array size). */
	for (__u32 i = 0; i < MESH_MAX_PORT_RANGES && i < n; i++) {
		if (port >= ranges[i].first && port <= ranges[i].last)
			return 1;
	}
	return 0;
}

/* The policy verdict for a connection, judged by its server end (address and port),
 * which both sockets of the connection agree on. */
static __always_inline int policy_allows(const struct mesh_config *cfg, __u32 family,
					 const __u32 *server_ip, __u32 server_port)
{
	struct mesh_cidr_key key = {};
	__u32 *action;

	if (!cfg->enabled)
		return 0;
	if (cfg->include_port_count && !port_in(cfg->include_ports, cfg->include_port_count, server_port))
		return 0;
	if (cfg->exclude_port_count && port_in(cfg->exclude_ports, cfg->exclude_port_count, server_port))
		return 0;
	if (family == AF_INET) {
		key.prefixlen = 128;
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &server_ip[0], 4);
	} else {
		key.prefixlen = 128;
		__builtin_memcpy(key.addr, server_ip, 16);
	}
	action = bpf_map_lookup_elem(&mesh_cidrs, &key);
	if (action && *action == MESH_CIDR_EXCLUDE)
		return 0;
	if (cfg->has_include_cidrs && !(action && *action == MESH_CIDR_INCLUDE))
		return 0;
	return 1;
}

/* Fill a connection record from the sockops context: family and addresses, with
 * v4-mapped IPv6 folded to IPv4 so a dual-stack server pairs with an IPv4 client. */
static __always_inline int describe(struct bpf_sock_ops *skops, struct mesh_conn *c)
{
	c->local_port = skops->local_port;
	c->remote_port = bpf_ntohl(skops->remote_port);
	if (skops->family == AF_INET) {
		c->family = AF_INET;
		c->local_ip[0] = skops->local_ip4;
		c->remote_ip[0] = skops->remote_ip4;
		return 0;
	}
	if (skops->family != AF_INET6)
		return -1;
	c->local_ip[0] = skops->local_ip6[0];
	c->local_ip[1] = skops->local_ip6[1];
	c->local_ip[2] = skops->local_ip6[2];
	c->local_ip[3] = skops->local_ip6[3];
	c->remote_ip[0] = skops->remote_ip6[0];
	c->remote_ip[1] = skops->remote_ip6[1];
	c->remote_ip[2] = skops->remote_ip6[2];
	c->remote_ip[3] = skops->remote_ip6[3];
	if (is_v4_mapped(c->local_ip) && is_v4_mapped(c->remote_ip)) {
		c->family = AF_INET;
		c->local_ip[0] = c->local_ip[3];
		c->remote_ip[0] = c->remote_ip[3];
		c->local_ip[1] = c->local_ip[2] = c->local_ip[3] = 0;
		c->remote_ip[1] = c->remote_ip[2] = c->remote_ip[3] = 0;
	} else {
		c->family = AF_INET6;
	}
	return 0;
}

static __always_inline int judge(struct mesh_conn *c, const __u32 *server_ip, __u32 server_port)
{
	__u32 zero = 0;
	struct mesh_config *cfg = bpf_map_lookup_elem(&mesh_config, &zero);

	if (!cfg)
		return 0;
	c->policy_generation = cfg->generation;
	c->allowed = policy_allows(cfg, c->family, server_ip, server_port);
	return c->allowed;
}

/* CO-RE views of the kernel structs the bypass peeks at (only these fields are relocated). */
struct sock_common___mesh {
	unsigned char skc_state;
} __attribute__((preserve_access_index));

struct list_head___mesh {
	struct list_head___mesh *next;
} __attribute__((preserve_access_index));

struct wait_queue_head___mesh {
	struct list_head___mesh head;
} __attribute__((preserve_access_index));

struct wait_queue_entry___mesh {
	void *func;
	struct list_head___mesh entry;
} __attribute__((preserve_access_index));

struct socket_wq___mesh {
	struct wait_queue_head___mesh wait;
} __attribute__((preserve_access_index));

struct socket_lock_t___mesh {
	int owned;
} __attribute__((preserve_access_index));

struct sock___mesh {
	struct sock_common___mesh __sk_common;
	struct socket_lock_t___mesh sk_lock;
	struct socket_wq___mesh *sk_wq;
	void *sk_user_data;
	int sk_rcvbuf;
} __attribute__((preserve_access_index));

struct sk_buff_head___mesh {
	__u32 qlen;
} __attribute__((preserve_access_index));

struct sk_psock___mesh {
	struct sock___mesh *sk;
	__u32 msg_tot_len;			/* bytes queued in ingress_msg */
	struct sk_buff_head___mesh ingress_skb;	/* skbs the backlog has not moved yet */
} __attribute__((preserve_access_index));

/* sk_user_data carries flag bits below the psock pointer (SK_USER_DATA_PTRMASK). */
#define SK_USER_DATA_PTRMASK (~7UL)
/* Below this, a receiver's queue never counts as backed up (its rcvbuf starts small). */
#define MESH_MIN_BACKLOG (4U << 20)

struct tcp_sock___mesh {
	__u8 is_mptcp;	/* bool in the kernel */
	__u32 snd_una;
	__u32 write_seq;
	__u32 rcv_nxt;
	__u32 copied_seq;
	__u64 bytes_acked;
	__u64 bytes_received;
} __attribute__((preserve_access_index));

/* An MPTCP subflow: its bytes belong to the MPTCP socket above it, so it stays on the
 * normal path (a sockhash would replace the subflow's protocol ops). */
static __always_inline int is_mptcp_subflow(struct bpf_sock_ops *skops)
{
	struct tcp_sock___mesh *tp;

	if (!skops->sk || !bpf_core_field_exists(struct tcp_sock___mesh, is_mptcp))
		return 0;
	tp = (struct tcp_sock___mesh *)bpf_skc_to_tcp_sock(skops->sk);
	return tp && tp->is_mptcp;
}

/* The address of the psock the sockhash just gave this socket (0 if none). */
static __always_inline __u64 own_psock(struct bpf_sock_ops *skops)
{
	struct sock___mesh *sk;

	if (!skops->sk)
		return 0;
	sk = (struct sock___mesh *)bpf_skc_to_tcp_sock(skops->sk);
	return sk ? (unsigned long)sk->sk_user_data & SK_USER_DATA_PTRMASK : 0;
}

static __always_inline int remember_cookie(struct bpf_sock_ops *skops, __u64 cookie)
{
	struct bpf_sock *sk = skops->sk;
	__u64 *slot;

	if (!sk)
		return -1;
	slot = bpf_sk_storage_get(&mesh_sk_cookie, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!slot)
		return -1;
	*slot = cookie;
	return 0;
}

static __always_inline void on_active_established(struct bpf_sock_ops *skops)
{
	struct mesh_conn c = {}, *client;
	struct mesh_pair_key pk = {};
	__u64 cookie;

	if (is_mptcp_subflow(skops)) {
		count(MESH_STAT_MPTCP_SKIPPED, 1);
		return;
	}
	if (describe(skops, &c) || !judge(&c, c.remote_ip, c.remote_port)) {
		count(MESH_STAT_POLICY_SKIPPED, 1);
		return;
	}
	cookie = bpf_get_socket_cookie(skops);
	c.role = MESH_ROLE_CLIENT;
	c.state = MESH_CONN_PENDING;
	pk.client_next_seq = skops->snd_nxt;
	pk.server_next_seq = skops->rcv_nxt;
	pk.client_port = c.local_port;
	if (remember_cookie(skops, cookie) || bpf_map_update_elem(&mesh_conns, &cookie, &c, BPF_ANY))
		return;
	if (bpf_sock_hash_update(skops, &mesh_socks, &cookie, BPF_NOEXIST)) {
		bpf_map_delete_elem(&mesh_conns, &cookie);
		count(MESH_STAT_INSERT_FAILED, 1);
		return;
	}
	bpf_map_update_elem(&mesh_pending, &pk, &cookie, BPF_ANY);
	client = bpf_map_lookup_elem(&mesh_conns, &cookie);
	if (client)
		client->own_psock = own_psock(skops);
	count(MESH_STAT_INSERTED, 1);
	/* STATE: forget the record at close. RTT: the first ACK of data tells us whether a
	 * peer showed up; if none did, leave the sockhash (no cost, no FIONREAD fault). */
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTT_CB_FLAG);
}

static __always_inline void on_passive_established(struct bpf_sock_ops *skops)
{
	struct mesh_conn c = {};
	struct mesh_pair_key pk = {};
	struct mesh_conn *client, *server;
	__u64 *client_cookie, peer, cookie;

	if (is_mptcp_subflow(skops)) {
		count(MESH_STAT_MPTCP_SKIPPED, 1);
		return;
	}
	if (describe(skops, &c))
		return;
	pk.client_next_seq = skops->rcv_nxt;
	pk.server_next_seq = skops->snd_nxt;
	pk.client_port = c.remote_port;
	client_cookie = bpf_map_lookup_elem(&mesh_pending, &pk);
	if (!client_cookie)
		return;		/* the client is not ours: leave this socket alone */
	peer = *client_cookie;
	bpf_map_delete_elem(&mesh_pending, &pk);
	client = bpf_map_lookup_elem(&mesh_conns, &peer);
	if (!client || client->state != MESH_CONN_PENDING)
		return;
	if (!judge(&c, c.local_ip, c.local_port)) {
		count(MESH_STAT_POLICY_SKIPPED, 1);
		return;
	}
	cookie = bpf_get_socket_cookie(skops);
	c.role = MESH_ROLE_SERVER;
	c.state = MESH_CONN_REDIRECT;
	c.peer_cookie = peer;
	if (remember_cookie(skops, cookie) || bpf_map_update_elem(&mesh_conns, &cookie, &c, BPF_ANY))
		return;
	if (bpf_sock_hash_update(skops, &mesh_socks, &cookie, BPF_NOEXIST)) {
		bpf_map_delete_elem(&mesh_conns, &cookie);
		count(MESH_STAT_INSERT_FAILED, 1);
		return;
	}
	server = bpf_map_lookup_elem(&mesh_conns, &cookie);
	if (server) {
		server->own_psock = own_psock(skops);
		server->peer_psock = client->own_psock;
		client->peer_psock = server->own_psock;
	}
	/* Pair last, so the client redirects only once its peer sits in the sockhash. */
	client->peer_cookie = cookie;
	client->state = MESH_CONN_REDIRECT;
	count(MESH_STAT_INSERTED, 1);
	count(MESH_STAT_PAIRED, 1);
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* Does a psock hold received bytes the application has not read? Leaving the sockhash
 * frees the psock and whatever is queued on it, so a socket may leave only when this is
 * false. Read under the socket's lock (sock_ops runs with it held), so no received
 * segment can be added meanwhile; the backlog only moves skbs that are counted here. */
static __always_inline int psock_holds_data(__u64 psock_address)
{
	struct sk_psock___mesh *psock = (struct sk_psock___mesh *)psock_address;
	__u32 queued = 1, skbs = 1;

	if (!psock)
		return 0;
	if (bpf_probe_read_kernel(&queued, sizeof(queued), &psock->msg_tot_len) ||
	    bpf_probe_read_kernel(&skbs, sizeof(skbs), &psock->ingress_skb.qlen))
		return 1;
	return queued || skbs;
}

static __always_inline void on_rtt(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct mesh_conn *c = bpf_map_lookup_elem(&mesh_conns, &cookie);

	if (c && c->peer_cookie == 0) {
		/* Data was ACKed and no local peer claimed this connection: not ours. Bytes the
		 * peer sent first (a server's banner) may wait unread in the psock: then stay,
		 * on TCP, and look again at the next ACK. */
		if (psock_holds_data(own_psock(skops))) {
			count(MESH_STAT_REMOVAL_DEFERRED, 1);
			return;
		}
		bpf_map_delete_elem(&mesh_socks, &cookie);
		bpf_map_delete_elem(&mesh_conns, &cookie);
		count(MESH_STAT_UNPAIRED_REMOVED, 1);
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags & ~BPF_SOCK_OPS_RTT_CB_FLAG);
}

static __always_inline void on_state(struct bpf_sock_ops *skops)
{
	__u64 cookie;

	if (skops->args[1] != TCP_CLOSE)
		return;
	cookie = bpf_get_socket_cookie(skops);
	if (bpf_map_delete_elem(&mesh_conns, &cookie) == 0)
		count(MESH_STAT_CLOSED, 1);
}

SEC("sockops")
int mesh_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		on_active_established(skops);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		on_passive_established(skops);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		on_rtt(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		on_state(skops);
		break;
	}
	return 1;
}

static __always_inline void count_conn(struct mesh_conn *c, __u64 bytes, int redirected)
{
	if (redirected) {
		c->redirected_bytes += bytes;
		c->redirected_msgs += 1;
	} else {
		c->passed_bytes += bytes;
		c->passed_msgs += 1;
	}
}

/* Would `size` more bytes overfill the peer's queue of redirected, unread bytes? A
 * redirect never waits for the receiver (the kernel queues without bound, up to the
 * host's tcp_mem, then fails sends with ENOMEM), so once a receiver stops reading the
 * connection moves to TCP, whose window blocks the sender as usual. */
static __always_inline int peer_backed_up(const struct mesh_conn *c, __u64 size)
{
	struct sk_psock___mesh *psock = (struct sk_psock___mesh *)c->peer_psock;
	struct sock___mesh *sk = 0;
	__u32 queued = 0;
	int limit = 0;

	if (!psock)
		return 0;
	/* Plain reads: if the peer is gone they see stale memory, and the redirect below
	 * fails anyway (its socket left the sockhash). */
	bpf_probe_read_kernel(&queued, sizeof(queued), &psock->msg_tot_len);
	/* Below the floor the receive buffer cannot matter: skip its two reads (each read
	 * costs about 40 ns, measured with bpf_stats; this is every send's path). */
	if (queued + size <= MESH_MIN_BACKLOG)
		return 0;
	bpf_probe_read_kernel(&sk, sizeof(sk), &psock->sk);
	if (sk)
		bpf_probe_read_kernel(&limit, sizeof(limit), &sk->sk_rcvbuf);
	if (limit < (int)MESH_MIN_BACKLOG)
		limit = MESH_MIN_BACKLOG;
	return queued + size > (__u64)limit;
}

/* Is a task of the peer possibly inside a receive call that started before the socket
 * was taken in (and so runs the plain TCP code, which never looks at the psock)? Such a
 * task owns the socket lock while it copies, or sleeps on the socket's wait queue with
 * woken_wake_function (epoll and poll waiters use other functions and are fine: their
 * next receive call runs the sockmap code). Unknown counts as yes. */
static __always_inline int peer_may_be_reading(struct sock___mesh *peer)
{
	struct socket_wq___mesh *wq = 0;
	struct list_head___mesh *head, *pos = 0;
	void *func = 0;
	int owned = 1;

	if (!woken_wake_function_address)
		return 1;
	if (bpf_probe_read_kernel(&owned, sizeof(owned), &peer->sk_lock.owned) || owned)
		return 1;
	if (bpf_probe_read_kernel(&wq, sizeof(wq), &peer->sk_wq) || !wq)
		return 1;
	head = &wq->wait.head;
	if (bpf_probe_read_kernel(&pos, sizeof(pos), &head->next))
		return 1;
	for (int i = 0; i < 8; i++) {
		if (pos == head)
			return 0;
		if (!pos || bpf_probe_read_kernel(&func, sizeof(func),
				(void *)pos - bpf_core_field_offset(struct wait_queue_entry___mesh, entry) +
				bpf_core_field_offset(struct wait_queue_entry___mesh, func)))
			return 1;
		if ((unsigned long)func == woken_wake_function_address)
			return 1;
		if (bpf_probe_read_kernel(&pos, sizeof(pos), &pos->next))
			return 1;
	}
	return 1;	/* more waiters than we look at */
}

/* May a picked-up connection start redirecting this direction now? Only when no byte of
 * it can be overtaken and the receiver will look at its psock:
 *  - this socket has sent on TCP since it was taken in (so a receive call that began
 *    before had something to return),
 *  - all it sent was ACKed (the sender's lock is held: nothing new leaves meanwhile),
 *  - the peer's TCP receive queue is empty (copied_seq == rcv_nxt),
 *  - and no task of the peer may still be in a plain TCP receive call.
 * Racy reads can only say "not yet". */
static __always_inline int may_start_redirect(struct bpf_sock *sk, const struct mesh_conn *c)
{
	struct tcp_sock___mesh *tp = (struct tcp_sock___mesh *)bpf_skc_to_tcp_sock(sk);
	struct sk_psock___mesh *psock = (struct sk_psock___mesh *)c->peer_psock;
	struct tcp_sock___mesh *peer = 0;
	__u32 rcv_nxt = 0, copied_seq = 1;

	if (!(c->flags & MESH_CONN_F_TCP_SENT) || !tp || !psock || tp->snd_una != tp->write_seq)
		return 0;
	if (bpf_probe_read_kernel(&peer, sizeof(peer), &psock->sk) || !peer)
		return 0;
	if (bpf_probe_read_kernel(&rcv_nxt, sizeof(rcv_nxt), &peer->rcv_nxt) ||
	    bpf_probe_read_kernel(&copied_seq, sizeof(copied_seq), &peer->copied_seq) ||
	    rcv_nxt != copied_seq)
		return 0;
	return !peer_may_be_reading((struct sock___mesh *)peer);
}

static __always_inline int pass(struct mesh_conn *c, __u64 size)
{
	count(MESH_STAT_PASSED_MSGS, 1);
	count(MESH_STAT_PASSED_BYTES, size);
	count_conn(c, size, 0);
	return SK_PASS;
}

static __always_inline long redirect(struct sk_msg_md *msg, struct mesh_conn *c)
{
	if (c->flags & MESH_CONN_F_PICKED)
		return bpf_msg_redirect_hash(msg, &mesh_picked_socks, &c->peer_cookie, BPF_F_INGRESS);
	return bpf_msg_redirect_hash(msg, &mesh_socks, &c->peer_cookie, BPF_F_INGRESS);
}

SEC("sk_msg")
int mesh_redirect(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	__u64 *own, cookie, size = msg->size;
	struct mesh_conn *c = 0;
	__u32 zero = 0;
	struct mesh_config *cfg;

	if (sk && (own = bpf_sk_storage_get(&mesh_sk_cookie, sk, 0, 0))) {
		cookie = *own;
		c = bpf_map_lookup_elem(&mesh_conns, &cookie);
	}
	if (!c) {
		count(MESH_STAT_MISSES, 1);
		return SK_PASS;
	}
	if (c->state == MESH_CONN_TCP)
		return pass(c, size);
	cfg = bpf_map_lookup_elem(&mesh_config, &zero);
	if (cfg && c->policy_generation != cfg->generation) {
		const __u32 *server_ip = c->role == MESH_ROLE_SERVER ? c->local_ip : c->remote_ip;
		__u32 server_port = c->role == MESH_ROLE_SERVER ? c->local_port : c->remote_port;

		c->policy_generation = cfg->generation;
		c->allowed = policy_allows(cfg, c->family, server_ip, server_port);
	}
	if (c->state == MESH_CONN_PICKED && c->allowed) {
		if (!may_start_redirect(sk, c)) {
			c->flags |= MESH_CONN_F_TCP_SENT;	/* only this socket's sends write it */
			return pass(c, size);
		}
		c->state = MESH_CONN_REDIRECT;
	}
	if (c->state != MESH_CONN_REDIRECT || !c->allowed || peer_backed_up(c, size) ||
	    redirect(msg, c) != SK_PASS) {
		/* Not paired before the first byte, switched off by policy, the receiver
		 * stopped reading, or the peer is gone: this socket's sends take the normal
		 * path from now on. */
		c->state = MESH_CONN_TCP;
		count(MESH_STAT_FALLBACKS, 1);
		return pass(c, size);
	}
	count(MESH_STAT_REDIRECTED_MSGS, 1);
	count(MESH_STAT_REDIRECTED_BYTES, size);
	count_conn(c, size, 1);
	return SK_PASS;
}

/* The agent's scan. Local views of the iterator's context and of struct seq_file's owner
 * (only the offsets are relocated). */
struct bpf_iter_meta___mesh {
	void *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_sk_storage_map___mesh {
	struct bpf_iter_meta___mesh *meta;
	void *map;
	struct sock___mesh *sk;
	__u64 *value;
} __attribute__((preserve_access_index));

/* Report each socket in mesh_scan_socks (see struct mesh_scan_record), and complete the
 * psock addresses of connections the agent has just taken in, which it cannot read. */
SEC("iter/bpf_sk_storage_map")
int mesh_scan(struct bpf_iter__bpf_sk_storage_map___mesh *ctx)
{
	struct sock___mesh *sk = ctx->sk;
	__u64 *value = ctx->value;
	struct mesh_scan_record r = {};
	struct tcp_sock___mesh *tp;
	struct mesh_conn *c, *peer;

	if (!sk || !value)
		return 0;
	tp = (struct tcp_sock___mesh *)bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	r.cookie = *value;
	r.psock = (unsigned long)sk->sk_user_data & SK_USER_DATA_PTRMASK;
	r.tcp_state = sk->__sk_common.skc_state;
	r.is_mptcp = bpf_core_field_exists(tp->is_mptcp) ? tp->is_mptcp : 0;
	r.acked_base_seq = tp->snd_una - (__u32)tp->bytes_acked;
	r.peer_next_seq = tp->rcv_nxt - (__u32)tp->bytes_received;
	c = bpf_map_lookup_elem(&mesh_conns, &r.cookie);
	if (c && (c->flags & MESH_CONN_F_PICKED) && r.psock) {
		c->own_psock = r.psock;
		peer = bpf_map_lookup_elem(&mesh_conns, &c->peer_cookie);
		if (peer)
			peer->peer_psock = r.psock;
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* Attached as the sockhash's stream verdict where the startup probe finds the kernel's
 * FIONREAD/readiness fault: routing TCP-path bytes through the psock makes FIONREAD
 * and wake-ups account for them. */
SEC("sk_skb/stream_verdict")
int mesh_skb_verdict(struct __sk_buff *skb)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
