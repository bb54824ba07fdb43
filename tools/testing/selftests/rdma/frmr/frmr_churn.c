// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_churn - several processes register and deregister user MRs and
 * predict the FRMR pool counters their pattern must produce.
 *
 * Process p of P uses the sizes 2^(p + k*P) pages, k = 0..K-1: every size is
 * at least twice any other process's size, so no two processes share a pool
 * (a pop may use a pool less than twice its size, never one twice as large).
 * Each round, for each of its sizes, a process registers h (1..H,
 * pseudo-random) MRs of that size with varying access flags (rxe's pools
 * ignore access flags) and deregisters them in a random order. A pool is a
 * LIFO stack of handles, so from a fresh pool:
 *	misses = created = max(h), hits = sum(h) - max(h),
 *	queue = max(h), in_use = 0, destroyed = 0
 * as long as no handle serves frmr_max_reuse registrations (a handle serves
 * at most one registration per round: ROUNDS < frmr_max_reuse) and nothing
 * ages (run with a long aging period).
 *
 * Usage: frmr_churn [-d DEV] [-P PROCS] [-K SIZES] [-r ROUNDS] [-H MAXHOLD]
 *                   [-s SEED] [-k]
 * Prints one line per size: "pool num_dma_blocks N hits H misses M
 * created C queue Q" (the prediction), exits 0 if every verb succeeded.
 * -k: then register one MR per size, print "holding", and wait to be killed
 * (for tests that remove the device under a dead process's MRs).
 */
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include "frmr_verbs.h"

#define MAXK	8
#define MAXH	64

static const int access_list[] = {
	IBV_ACCESS_LOCAL_WRITE,
	IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
	IBV_ACCESS_REMOTE_READ,
	IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC,
	0,
};

static __u32 rnd(__u64 *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

static int run_proc(const char *dev, int p, int P, int K, int rounds, int H,
		    __u64 seed, int hold)
{
	unsigned long long hits[MAXK] = {};
	int maxh[MAXK] = {};
	struct ibv_mr *mrs[MAXH];
	struct ibv_context *ctx;
	__u64 s = seed * 7919 + p;
	size_t maxlen = (size_t)PAGE << (p + (K - 1) * P);
	struct ibv_pd *pd;
	int k, r, j;
	void *buf;

	ctx = frmr_open_device(dev);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("alloc_pd %s\n", dev);
	buf = frmr_alloc(maxlen);
	memset(buf, 0, maxlen);

	for (r = 0; r < rounds; r++) {
		for (k = 0; k < K; k++) {
			size_t len = (size_t)PAGE << (p + k * P);
			int h = 1 + rnd(&s) % H;

			for (j = 0; j < h; j++) {
				int acc = access_list[rnd(&s) % 5];

				mrs[j] = ibv_reg_mr(pd, buf, len, acc);
				if (!mrs[j])
					die("proc %d: reg_mr %zu pages access 0x%x: %s\n",
					    p, len / PAGE, acc, strerror(errno));
			}
			/* deregister in a random order */
			for (j = h; j > 0; j--) {
				int x = rnd(&s) % j;
				struct ibv_mr *m = mrs[x];

				mrs[x] = mrs[j - 1];
				if (ibv_dereg_mr(m))
					die("proc %d: dereg_mr: %s\n", p,
					    strerror(errno));
			}
			/* a LIFO pool: hits while the queue has handles */
			hits[k] += h < maxh[k] ? h : maxh[k];
			if (h > maxh[k])
				maxh[k] = h;
		}
	}
	for (k = 0; k < K; k++)
		printf("pool num_dma_blocks %lu hits %llu misses %d created %d queue %d\n",
		       1UL << (p + k * P), hits[k], maxh[k], maxh[k], maxh[k]);
	fflush(stdout);
	if (hold) {
		for (k = 0; k < K; k++)
			if (!ibv_reg_mr(pd, buf, (size_t)PAGE << (p + k * P),
					IBV_ACCESS_LOCAL_WRITE))
				die("proc %d: reg_mr: %s\n", p, strerror(errno));
		printf("holding\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int P = 3, K = 3, rounds = 20, H = 8, c, p, st, bad = 0, hold = 0;
	const char *dev = "rxe0";
	__u64 seed = 1;

	while ((c = getopt(argc, argv, "d:P:K:r:H:s:k")) != -1) {
		switch (c) {
		case 'd':
			dev = optarg;
			break;
		case 'P':
			P = atoi(optarg);
			break;
		case 'K':
			K = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'H':
			H = atoi(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			hold = 1;
			break;
		default:
			die("bad option\n");
		}
	}
	if (P < 1 || K < 1 || K > MAXK || H < 1 || H > MAXH ||
	    P * K > 20 || rounds < 1)
		die("bad parameters\n");

	for (p = 0; p < P; p++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork\n");
		if (!pid)
			exit(run_proc(dev, p, P, K, rounds, H, seed, hold));
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	return bad;
}
