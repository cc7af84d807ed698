// The libbpf peer of bench/kernel-ringbuf.bench.ts: consumes a pinned ring buffer with
// ring_buffer__poll until TOTAL records have arrived (or none for 10 s), and prints
// records per second from the first record to the last, and how many arrived.
//
// usage: kernel-ringbuf PIN_PATH TOTAL
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long seen, total;
static double first;

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_record(void *ctx, void *data, size_t size) {
	if (seen++ == 0) first = now();
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 3) return 2;
	int fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		perror("bpf_obj_get");
		return 1;
	}
	total = strtoul(argv[2], NULL, 10);
	struct ring_buffer *rb = ring_buffer__new(fd, on_record, NULL, NULL);
	if (!rb) {
		perror("ring_buffer__new");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	/* The bench writes exactly TOTAL records; give up after 10 s without one. Count time,
	 * not empty polls: a record reserved but not yet committed makes the ring readable
	 * while there is nothing to consume, so polls can return 0 many times in a row. */
	double last = now();
	unsigned long before = 0;
	while (seen < total) {
		int err = ring_buffer__poll(rb, 100);
		if (err < 0) {
			perror("ring_buffer__poll");
			return 1;
		}
		if (seen != before) {
			before = seen;
			last = now();
		} else if (now() - last > 10) {
			break;
		}
	}
	double secs = now() - first;
	printf("%.0f %lu\n", seen / secs, seen);
	ring_buffer__free(rb);
	return 0;
}
