// SPDX-License-Identifier: MIT
/*
 * Request/response and bulk TCP benchmark peer for `npm run bench:mesh`, compiled by
 * the benchmark (never committed as a binary).
 *
 *   rr server PORT [--cpu N]                      echo SIZE-byte requests / sink bulk
 *   rr client HOST PORT --size S --conns C --requests N [--cpu N] [--timeout-ms T]
 *   rr bulk   HOST PORT --write W --bytes B [--cpu N]
 *
 * The first 8 bytes a client sends on a connection say what it wants: a request size
 * (> 0) for echo, or 0 for a bulk sink. The client prints one JSON line: latencies
 * (p50/p99 in ns), requests/s, timeouts; bulk prints bytes/s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(2);
	}
}

/* 0 on success, -1 on EOF/error, -2 on timeout. */
static int read_full(int fd, char *buf, size_t n)
{
	while (n) {
		ssize_t r = read(fd, buf, n);
		if (r == 0)
			return -1;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -2 : -1;
		}
		buf += r;
		n -= r;
	}
	return 0;
}

static int write_full(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= w;
	}
	return 0;
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint64_t size;
	char *buf;

	if (read_full(fd, (char *)&size, 8)) {
		close(fd);
		return NULL;
	}
	buf = malloc(size ? size : 1 << 20);
	if (size == 0) {
		while (read(fd, buf, 1 << 20) > 0)
			;
	} else {
		while (read_full(fd, buf, size) == 0)
			if (write_full(fd, buf, size))
				break;
	}
	free(buf);
	close(fd);
	return NULL;
}

static int server(int port)
{
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1024)) {
		perror("bind/listen");
		return 2;
	}
	printf("{\"listening\":%d}\n", port);
	fflush(stdout);
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

static int connect_to(const char *host, int port, int timeout_ms)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

	inet_pton(AF_INET, host, &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		exit(2);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

struct worker {
	int fd;
	uint64_t size, requests, timeouts, errors;
	uint64_t *lat;
	pthread_barrier_t *start;
};

static void *client_worker(void *arg)
{
	struct worker *w = arg;
	char *buf = calloc(1, w->size);

	pthread_barrier_wait(w->start);
	for (uint64_t i = 0; i < w->requests; i++) {
		uint64_t t0 = now_ns();
		int r;
		if (write_full(w->fd, buf, w->size)) {
			w->errors++;
			break;
		}
		r = read_full(w->fd, buf, w->size);
		if (r == -2) {
			w->timeouts++;
			break;
		}
		if (r) {
			w->errors++;
			break;
		}
		w->lat[i] = now_ns() - t0;
	}
	free(buf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int client(const char *host, int port, uint64_t size, int conns, uint64_t requests, int timeout_ms)
{
	struct worker *w = calloc(conns, sizeof(*w));
	pthread_t *t = calloc(conns, sizeof(*t));
	pthread_barrier_t start;
	uint64_t total = 0, timeouts = 0, errors = 0, n = 0, *all;
	uint64_t t0, t1;

	pthread_barrier_init(&start, NULL, conns + 1);
	for (int i = 0; i < conns; i++) {
		w[i].fd = connect_to(host, port, timeout_ms);
		w[i].size = size;
		w[i].requests = requests;
		w[i].lat = calloc(requests, sizeof(uint64_t));
		w[i].start = &start;
		if (write_full(w[i].fd, (char *)&size, 8))
			return 2;
		pthread_create(&t[i], NULL, client_worker, &w[i]);
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (int i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	t1 = now_ns();
	all = calloc((size_t)conns * requests, sizeof(uint64_t));
	for (int i = 0; i < conns; i++) {
		for (uint64_t j = 0; j < requests; j++)
			if (w[i].lat[j])
				all[n++] = w[i].lat[j];
		timeouts += w[i].timeouts;
		errors += w[i].errors;
		close(w[i].fd);
	}
	total = n;
	qsort(all, n, sizeof(uint64_t), cmp_u64);
	printf("{\"requests\":%llu,\"p50_ns\":%llu,\"p99_ns\":%llu,\"rps\":%.1f,\"timeouts\":%llu,\"errors\":%llu}\n",
	       (unsigned long long)total, (unsigned long long)(n ? all[n / 2] : 0),
	       (unsigned long long)(n ? all[(n * 99) / 100] : 0), n ? total * 1e9 / (double)(t1 - t0) : 0.0,
	       (unsigned long long)timeouts, (unsigned long long)errors);
	return timeouts || errors ? 1 : 0;
}

static int bulk(const char *host, int port, uint64_t write_size, uint64_t bytes)
{
	int fd = connect_to(host, port, 10000);
	uint64_t zero = 0, sent = 0, t0, t1;
	char *buf = calloc(1, write_size);

	if (write_full(fd, (char *)&zero, 8))
		return 2;
	t0 = now_ns();
	while (sent < bytes) {
		if (write_full(fd, buf, write_size))
			return 1;
		sent += write_size;
	}
	shutdown(fd, SHUT_WR);
	/* The server closes after reading everything: wait for it, so bytes/s counts delivery. */
	while (read(fd, buf, write_size) > 0)
		;
	t1 = now_ns();
	printf("{\"bytes\":%llu,\"bytes_per_s\":%.1f}\n", (unsigned long long)sent, sent * 1e9 / (double)(t1 - t0));
	close(fd);
	return 0;
}

static long opt(int argc, char **argv, const char *name, long def)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return strtol(argv[i + 1], NULL, 10);
	return def;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rr server PORT | rr client HOST PORT --size S --conns C --requests N | rr bulk HOST PORT --write W --bytes B  [--cpu N]\n");
		return 2;
	}
	pin((int)opt(argc, argv, "--cpu", -1));
	if (!strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc < 4)
		return 2;
	if (!strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), opt(argc, argv, "--size", 64), (int)opt(argc, argv, "--conns", 1),
			      opt(argc, argv, "--requests", 10000), (int)opt(argc, argv, "--timeout-ms", 5000));
	if (!strcmp(argv[1], "bulk"))
		return bulk(argv[2], atoi(argv[3]), opt(argc, argv, "--write", 65536), opt(argc, argv, "--bytes", 1 << 30));
	return 2;
}
