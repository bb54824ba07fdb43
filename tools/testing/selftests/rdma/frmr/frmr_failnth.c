// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_failnth - every allocation of a user MR registration and
 * deregistration fails once, and nothing is lost.
 *
 * Needs a kernel with failslab armed for fail-nth (ignore-gfp-wait N,
 * probability 0). For n = 1, 2, ... the n-th fault point of one verb call of
 * this thread fails (/proc/thread-self/fail-nth), until a call completes
 * without reaching its n-th point: then every point of that call was tried.
 * Three loops, each on a pool of its own (sizes 2x apart):
 *  miss:  ibv_reg_mr() while every earlier MR of the loop stays registered,
 *         so the pool has nothing queued and the pop creates a handle (an
 *         injected failure there is retried after a trim);
 *  hit:   ibv_reg_mr() with one handle queued (the pop takes it);
 *  dereg: ibv_dereg_mr(); one that fails must have changed nothing: the MR
 *         still works for a deregistration without injection.
 * A registration that fails must fail with an errno and leave no MR; one that
 * succeeds despite the injection must give a usable MR (it is deregistered).
 * The caller checks the pool counters (in_use 0, created - destroyed -
 * dropped == queue) and the kernel log (kmemleak, KASAN, lockdep).
 *
 * Usage: frmr_failnth [-d DEV] [-p PAGES] [-m MAX_POINTS]
 * Prints one line per loop: points tried, calls that failed, calls that
 * succeeded despite the injected failure.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <unistd.h>
#include "frmr_verbs.h"

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)
#define MAX_HELD	1024

static int nth_fd;

static void fail_nth_set(unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(nth_fd, b, len, 0) != len)
		die("write fail-nth %u: %s\n", n, strerror(errno));
}

/* Disarms fail-nth; returns whether the armed fault was injected. */
static int fail_nth_fired(void)
{
	char b[16] = "";
	ssize_t len = pread(nth_fd, b, sizeof(b) - 1, 0);

	if (len <= 0)
		die("read fail-nth: %s\n", strerror(errno));
	b[len] = 0;
	fail_nth_set(0);
	return atoi(b) == 0;
}

struct tally {
	const char *name;
	int points, failed, survived;
};

static void report(const struct tally *t, int max)
{
	printf("%s: %d points, %d calls failed, %d succeeded despite the failure\n",
	       t->name, t->points, t->failed, t->survived);
	if (t->points >= max)
		fail("%s: still reaching injected failures after %d points\n",
		     t->name, max);
	if (!t->failed)
		fail("%s: no injected failure made a call fail: not armed?\n",
		     t->name);
}

/* One registration with the n-th fault point failing; the MR or NULL. */
static struct ibv_mr *reg_nth(struct ibv_pd *pd, void *buf, size_t len,
			      unsigned int n, struct tally *t, int *done)
{
	struct ibv_mr *mr;
	int err;

	fail_nth_set(n);
	mr = ibv_reg_mr(pd, buf, len, MR_ACCESS);
	err = errno;
	if (!fail_nth_fired()) {
		/* every point of the call was tried */
		if (!mr)
			die("%s: reg_mr failed with no injected failure: %s\n",
			    t->name, strerror(err));
		*done = 1;
		return mr;
	}
	t->points = n;
	if (!mr) {
		if (!err)
			fail("%s: point %u: reg_mr failed without an errno\n",
			     t->name, n);
		t->failed++;
	} else {
		t->survived++;
	}
	return mr;
}

int main(int argc, char **argv)
{
	struct tally miss = { .name = "miss" }, hit = { .name = "hit" };
	struct tally dereg = { .name = "dereg" };
	struct ibv_mr *held[MAX_HELD], *mr;
	int c, max = 200, pages = 5, nheld = 0, done, i;
	const char *dev = "rxe0";
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	unsigned int n;
	size_t len;
	char *buf;

	while ((c = getopt(argc, argv, "d:p:m:")) != -1) {
		switch (c) {
		case 'd':
			dev = optarg;
			break;
		case 'p':
			pages = atoi(optarg);
			break;
		case 'm':
			max = atoi(optarg);
			break;
		default:
			die("usage: %s [-d DEV] [-p PAGES] [-m MAX_POINTS]\n",
			    argv[0]);
		}
	}
	if (pages < 1 || max < 1 || max >= MAX_HELD)
		die("bad parameters\n");
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd < 0)
		die("/proc/thread-self/fail-nth: %s (CONFIG_FAULT_INJECTION?)\n",
		    strerror(errno));
	ctx = frmr_open_device(dev);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("alloc_pd: %s\n", strerror(errno));
	/* three pools: pages, 2 * pages and 4 * pages blocks */
	len = (size_t)pages * PAGE;
	buf = frmr_alloc(7 * len);
	memset(buf, 0, 7 * len);

	/* miss: the pool of `pages` blocks never has a handle queued */
	for (n = 1, done = 0; !done && (int)n <= max; n++) {
		mr = reg_nth(pd, buf, len, n, &miss, &done);
		if (mr)
			held[nheld++] = mr;
	}
	for (i = 0; i < nheld; i++)
		if (ibv_dereg_mr(held[i]))
			die("miss: dereg_mr: %s\n", strerror(errno));

	/* hit: the pool of 2 * pages blocks has one handle queued */
	mr = ibv_reg_mr(pd, buf + len, 2 * len, MR_ACCESS);
	if (!mr || ibv_dereg_mr(mr))
		die("hit: first reg/dereg: %s\n", strerror(errno));
	for (n = 1, done = 0; !done && (int)n <= max; n++) {
		mr = reg_nth(pd, buf + len, 2 * len, n, &hit, &done);
		if (mr && ibv_dereg_mr(mr))
			die("hit: dereg_mr: %s\n", strerror(errno));
	}

	/* dereg: a failed deregistration changed nothing */
	for (n = 1, done = 0; !done && (int)n <= max; n++) {
		int ret;

		mr = ibv_reg_mr(pd, buf + 3 * len, 4 * len, MR_ACCESS);
		if (!mr)
			die("dereg: reg_mr: %s\n", strerror(errno));
		fail_nth_set(n);
		ret = ibv_dereg_mr(mr);
		if (!fail_nth_fired()) {
			if (ret)
				die("dereg: failed with no injected failure\n");
			done = 1;
			break;
		}
		dereg.points = n;
		if (!ret) {
			dereg.survived++;
			continue;
		}
		dereg.failed++;
		if (ibv_dereg_mr(mr)) {
			fail("dereg: point %u: the MR is lost: %s\n", n,
			     strerror(errno));
			break;
		}
	}

	report(&miss, max);
	report(&hit, max);
	/* a deregistration may legitimately allocate nothing that can fail */
	printf("dereg: %d points, %d calls failed, %d succeeded despite the failure\n",
	       dereg.points, dereg.failed, dereg.survived);
	if (dereg.points >= max)
		fail("dereg: still reaching injected failures after %d points\n",
		     max);

	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(buf);
	close(nth_fd);
	printf("%d failures\n", failures);
	return frmr_exit_status();
}
