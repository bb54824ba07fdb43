// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_memloop - the review's memory loop: for N = 1..2048, register
 * floor(2048 / N) user MRs of N pages each, then deregister them all.
 *
 * Every N is a new MR size, so with FRMR pools every N leaves its own pool
 * behind, holding floor(2048 / N) idle handles whose page storage covers
 * about 2048 pages: on a pooled rxe without reclaim that is ~16,800 queued
 * handles in 2,048 pools and ~64 MiB of page storage (16 bytes a page) kept
 * after the process exits. The MRs of one N cover disjoint parts of a single
 * buffer of TOTAL pages, so no more than TOTAL pages are ever pinned: the
 * default 2048 pages fit an unprivileged process's default 8 MiB
 * RLIMIT_MEMLOCK exactly.
 *
 * A registration refused with ENOMEM (RLIMIT_MEMLOCK, a memory cgroup's
 * memory.max, the machine) is an expected outcome: it is counted and the
 * loop goes on. Anything else fails the run.
 *
 * Usage: frmr_memloop [-d DEV] [-s FIRST_N] [-n LAST_N] [-k STRIDE]
 *                     [-t TOTAL_PAGES]
 *	N runs FIRST_N, FIRST_N + STRIDE, ... up to LAST_N (defaults 1, 2048,
 *	1; TOTAL_PAGES 2048). -n 0 only allocates and touches the buffer, then
 *	exits: a memory filler of TOTAL_PAGES pages.
 * Prints a progress line whenever N reaches a power of two and one summary:
 *	memloop: sizes S registrations R failed F (ENOMEM) pages P seconds T
 * Exit status: 0 when every verb succeeded or failed with ENOMEM, 1 when a
 * verb failed otherwise, 2 when the test could not run.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "frmr_verbs.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long opt_long(const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || *end || v < min || v > max)
		die("bad number %s (%ld..%ld)\n", arg, min, max);
	return v;
}

int main(int argc, char **argv)
{
	long first = 1, last = 2048, stride = 1, total = 2048, n, i, cnt;
	unsigned long long regs = 0, nomem = 0, sizes = 0;
	const char *dev = "rxe0";
	struct ibv_context *ctx;
	struct ibv_mr **mrs;
	struct ibv_pd *pd;
	double t0;
	char *buf;
	int opt;

	while ((opt = getopt(argc, argv, "d:s:n:k:t:")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 's':
			first = opt_long(optarg, 1, 1L << 20);
			break;
		case 'n':
			last = opt_long(optarg, 0, 1L << 20);
			break;
		case 'k':
			stride = opt_long(optarg, 1, 1L << 20);
			break;
		case 't':
			total = opt_long(optarg, 1, 1L << 22);
			break;
		default:
			die("usage: %s [-d DEV] [-s FIRST_N] [-n LAST_N] %s\n",
			    argv[0], "[-k STRIDE] [-t TOTAL_PAGES]");
		}
	}

	t0 = now_s();
	/* Fault every page in now: pinning then never allocates user memory. */
	buf = mmap(NULL, total * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap %ld pages: %s\n", total, strerror(errno));
	memset(buf, 1, total * PAGE);
	if (!last) {
		printf("memloop: touched %ld pages (%ld KiB), no registration\n",
		       total, total * PAGE / 1024);
		return 0;
	}

	mrs = calloc(total, sizeof(*mrs));
	if (!mrs)
		die("memory\n");
	ctx = frmr_open_device(dev);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd %s: %s\n", dev, strerror(errno));
	printf("memloop: dev %s N %ld..%ld stride %ld, buffer %ld pages, uid %d\n",
	       dev, first, last, stride, total, (int)getuid());
	fflush(stdout);

	for (n = first; n <= last && n <= total; n += stride) {
		cnt = total / n;
		for (i = 0; i < cnt; i++) {
			mrs[i] = ibv_reg_mr(pd, buf + i * n * PAGE, n * PAGE,
					    IBV_ACCESS_LOCAL_WRITE);
			if (mrs[i]) {
				regs++;
				continue;
			}
			if (errno != ENOMEM) {
				fail("N %ld MR %ld: ibv_reg_mr: %s\n", n, i,
				     strerror(errno));
				break;
			}
			if (!nomem)
				printf("memloop: first ENOMEM at N %ld MR %ld, %s %llu\n",
				       n, i, "registrations before", regs);
			nomem++;
		}
		for (i = 0; i < cnt; i++) {
			if (mrs[i] && ibv_dereg_mr(mrs[i]))
				fail("N %ld MR %ld: ibv_dereg_mr: %s\n", n, i,
				     strerror(errno));
			mrs[i] = NULL;
		}
		sizes++;
		if (failures)
			break;
		if (!(n & (n - 1)))
			printf("memloop: N %ld: %llu registrations, %llu ENOMEM, %.1f s\n",
			       n, regs, nomem, now_s() - t0);
		fflush(stdout);
	}

	printf("memloop: sizes %llu registrations %llu failed %llu (ENOMEM) %s %ld seconds %.1f\n",
	       sizes, regs, nomem, "pages", total, now_s() - t0);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	munmap(buf, total * PAGE);
	free(mrs);
	return frmr_exit_status();
}
