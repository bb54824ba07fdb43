// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_bench_reg - time ibv_reg_mr() + ibv_dereg_mr() pairs by size, for
 * `make bench`.
 *
 * For each SIZE:ITERS argument it maps SIZE bytes of anonymous memory,
 * touches every page (so that pinning never faults pages in), runs ITERS
 * untimed pairs (warm-up: with FRMR pools, the pool's handle is made here),
 * then REPS timed runs of ITERS pairs on the same buffer.
 *
 * Usage: frmr_bench_reg [-d DEV] [-r REPS] SIZE:ITERS...
 * Prints one line per timed run, in the format of the benchmark modules:
 *	user_mr_pair size=<bytes> rep=<n> iters=<n> ns=<wall time>
 * and exits 0 if every verb succeeded.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "frmr_verbs.h"

#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ)

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void pairs(struct ibv_pd *pd, void *buf, size_t size, long iters)
{
	struct ibv_mr *mr;
	long i;

	for (i = 0; i < iters; i++) {
		mr = ibv_reg_mr(pd, buf, size, ACCESS);
		if (!mr)
			die("ibv_reg_mr(%zu): %m\n", size);
		if (ibv_dereg_mr(mr))
			die("ibv_dereg_mr(%zu): %m\n", size);
	}
}

int main(int argc, char **argv)
{
	const char *dev = "rxe0";
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	int reps = 5, opt, a, r;

	while ((opt = getopt(argc, argv, "d:r:")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			die("usage: %s [-d DEV] [-r REPS] SIZE:ITERS...\n", argv[0]);
		}
	}
	if (optind == argc || reps < 1)
		die("usage: %s [-d DEV] [-r REPS] SIZE:ITERS...\n", argv[0]);
	ctx = frmr_open_device(dev);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd: %m\n");

	for (a = optind; a < argc; a++) {
		char *end;
		size_t size = strtoull(argv[a], &end, 0);
		long iters = *end == ':' ? atol(end + 1) : 0;
		void *buf;

		if (!size || iters < 1)
			die("bad SIZE:ITERS '%s'\n", argv[a]);
		buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			die("mmap(%zu): %m\n", size);
		memset(buf, 0x5a, size);
		pairs(pd, buf, size, iters);
		for (r = 0; r < reps; r++) {
			__u64 t0 = now_ns();

			pairs(pd, buf, size, iters);
			printf("user_mr_pair size=%zu rep=%d iters=%ld ns=%llu\n",
			       size, r, iters,
			       (unsigned long long)(now_ns() - t0));
			fflush(stdout);
		}
		munmap(buf, size);
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}
