// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_stale_rkey - a pooled MR handle never revives an old rkey.
 *
 * Set-up: two RC QPs on one device (loopback). Every cycle deregisters the
 * victim MR, registers the same buffer again (a pooled driver hands back the
 * same MR index with a new key byte), writes with the previous rkey, resets
 * both QPs (ERR -> RESET -> INIT -> RTR -> RTS) and writes with the new rkey.
 * The cycles run once, before the tests: the scenarios read the pool's
 * counters afterwards and expect exactly one registration per cycle. Each
 * test then checks one property over every cycle:
 *  - a write with the previous rkey fails with IBV_WC_REM_ACCESS_ERR
 *    and leaves the buffer unchanged;
 *  - a write with the new rkey succeeds and lands;
 *  - a pooled index rotates its key: same index => key byte previous + 1,
 *    never more than frmr_max_reuse registrations per index, and (with
 *    --exact, on a fresh pool) exactly frmr_max_reuse between retirements,
 *    with at least one retirement when the cycles outnumber frmr_max_reuse.
 * More than 10 failed checks end the cycles early.
 *
 * Usage: frmr_stale_rkey [-d DEV] [-g GID_INDEX] [-n CYCLES] [-p PAGES]
 *                        [-m MAX_REUSE] [--exact] [-- HARNESS_OPTIONS]
 * Output is KTAP (kselftest_harness.h): one test per check. Exit status 0
 * when every test passed, 1 when one failed, 2 when the set-up failed.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include "frmr_verbs.h"
#include "../../kselftest_harness.h"

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)
#define MAX_FAILURES	10

/* What one cycle saw. */
struct stale_cycle {
	__u32 prev_rkey;	/* the victim's rkey before the cycle */
	__u32 rkey;		/* its rkey after registering again */
	bool same_index;	/* the new rkey has the previous one's index */
	int run;		/* registrations of the new rkey's index so far */
	int prev_run;		/* !same_index: registrations the old index served */
	bool counted;		/* !same_index: the old index's run began fresh */
	enum ibv_wc_status old_st;	/* the write with the previous rkey */
	bool old_untouched;		/* it left the buffer as it was */
	enum ibv_wc_status new_st;	/* the write with the new rkey */
	bool new_landed;		/* its data arrived */
};

/* The options and what the cycles saw, set before the tests run. */
struct stale_run {
	const char *dev;
	int gid_index, cycles, pages, max_reuse;
	bool exact;
	int ran;		/* cycles run (fewer on too many failures) */
	int retirements;	/* index changes */
	struct stale_cycle *c;	/* [ran] */
};

static struct stale_run stale = {
	.dev = "rxe0", .gid_index = 1, .cycles = 300, .pages = 24,
};

static int read_max_reuse(void)
{
	FILE *f = fopen("/sys/module/rdma_rxe/parameters/frmr_max_reuse", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* The checks, one per test below; each is true when cycle @c passed it. */
static bool key_is_previous_plus_one(const struct stale_cycle *c)
{
	return !c->same_index || (c->rkey & 0xff) == ((c->prev_rkey + 1) & 0xff);
}

static bool index_within_max_reuse(const struct stale_cycle *c)
{
	return !c->same_index || c->run <= stale.max_reuse;
}

static bool retired_after_max_reuse(const struct stale_cycle *c)
{
	return !stale.exact || c->same_index || !c->counted ||
	       c->prev_run == stale.max_reuse;
}

static bool old_rkey_rejected(const struct stale_cycle *c)
{
	return c->old_st == IBV_WC_REM_ACCESS_ERR;
}

static bool old_rkey_left_memory(const struct stale_cycle *c)
{
	return c->old_untouched;
}

static bool new_rkey_succeeded(const struct stale_cycle *c)
{
	return c->new_st == IBV_WC_SUCCESS;
}

static bool new_rkey_landed(const struct stale_cycle *c)
{
	return c->new_st != IBV_WC_SUCCESS || c->new_landed;
}

static int cycle_failures(const struct stale_cycle *c)
{
	return !key_is_previous_plus_one(c) + !index_within_max_reuse(c) +
	       !retired_after_max_reuse(c) + !old_rkey_rejected(c) +
	       !old_rkey_left_memory(c) + !new_rkey_succeeded(c) +
	       !new_rkey_landed(c);
}

/* The set-up: the cycles, recorded in stale.c[]; dies when one cannot run. */
static void stale_cycles(void)
{
	struct frmr_loopback lb;
	int run = 0, failed = 0;
	bool first_run = true;
	struct ibv_mr *victim, *src;
	unsigned char *buf, *sbuf;
	size_t len = (size_t)stale.pages * PAGE;

	stale.c = calloc(stale.cycles, sizeof(*stale.c));
	if (!stale.c)
		die("memory\n");
	frmr_loopback_pair(&lb, stale.dev, stale.gid_index);
	buf = frmr_alloc(len);
	sbuf = frmr_alloc(PAGE);
	/* one page: never shares a pool with the victim (pages >= 2) */
	src = ibv_reg_mr(lb.pd, sbuf, PAGE, IBV_ACCESS_LOCAL_WRITE);
	victim = ibv_reg_mr(lb.pd, buf, len, MR_ACCESS);
	if (!src || !victim)
		die("reg_mr: %s\n", strerror(errno));
	run = 1;

	for (stale.ran = 0; stale.ran < stale.cycles && failed <= MAX_FAILURES;) {
		struct stale_cycle *c = &stale.c[stale.ran++];

		c->prev_rkey = victim->rkey;
		if (ibv_dereg_mr(victim))
			die("dereg_mr: %s\n", strerror(errno));
		victim = ibv_reg_mr(lb.pd, buf, len, MR_ACCESS);
		if (!victim)
			die("reg_mr: %s\n", strerror(errno));
		c->rkey = victim->rkey;
		c->same_index = c->rkey >> 8 == c->prev_rkey >> 8;
		if (c->same_index) {
			run++;
		} else {
			c->prev_run = run;
			c->counted = !first_run;
			stale.retirements++;
			first_run = false;
			run = 1;
		}
		c->run = run;

		/* the old rkey must be dead: remote access error, no data */
		memset(buf, 0x5a, len);
		memset(sbuf, 0xa5, PAGE);
		c->old_st = frmr_loopback_rdma(&lb, IBV_WR_RDMA_WRITE, src,
					       (uintptr_t)buf, c->prev_rkey,
					       PAGE);
		c->old_untouched = frmr_buf_is(buf, len, 0x5a);
		frmr_qps_reset(lb.qp, lb.cq, &lb.gid, stale.gid_index);

		/* the new rkey works */
		c->new_st = frmr_loopback_rdma(&lb, IBV_WR_RDMA_WRITE, src,
					       (uintptr_t)buf + len - PAGE,
					       c->rkey, PAGE);
		if (c->new_st != IBV_WC_SUCCESS)
			frmr_qps_reset(lb.qp, lb.cq, &lb.gid, stale.gid_index);
		else
			c->new_landed = frmr_buf_is(buf + len - PAGE, PAGE, 0xa5);
		failed += cycle_failures(c);
	}

	ksft_print_msg("cycles %d max_reuse %d retirements %d last_run %d failed checks %d\n",
		       stale.ran, stale.max_reuse, stale.retirements, run, failed);
	ibv_dereg_mr(victim);
	ibv_dereg_mr(src);
	frmr_loopback_close(&lb);
	free(buf);
	free(sbuf);
}

FIXTURE(stale_rkey) {
	const struct stale_run *run;
};

FIXTURE_SETUP(stale_rkey)
{
	self->run = &stale;
	ASSERT_GT(self->run->ran, 0);
}

FIXTURE_TEARDOWN(stale_rkey)
{
}

TEST_F(stale_rkey, old_rkey_write_fails_with_remote_access_error)
{
	const struct stale_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(old_rkey_rejected(c))
			TH_LOG("cycle %td: write with old rkey 0x%x (new 0x%x): status %s",
			       c - self->run->c, c->prev_rkey, c->rkey,
			       ibv_wc_status_str(c->old_st));
	}
}

TEST_F(stale_rkey, old_rkey_write_leaves_memory_unchanged)
{
	const struct stale_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(old_rkey_left_memory(c))
			TH_LOG("cycle %td: old rkey 0x%x changed the new MR's memory",
			       c - self->run->c, c->prev_rkey);
	}
}

TEST_F(stale_rkey, new_rkey_write_succeeds)
{
	const struct stale_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(new_rkey_succeeded(c))
			TH_LOG("cycle %td: write with new rkey 0x%x: %s",
			       c - self->run->c, c->rkey,
			       ibv_wc_status_str(c->new_st));
	}
}

TEST_F(stale_rkey, new_rkey_write_lands)
{
	const struct stale_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(new_rkey_landed(c))
			TH_LOG("cycle %td: write with new rkey did not land",
			       c - self->run->c);
	}
}

TEST_F(stale_rkey, same_index_key_is_previous_plus_one)
{
	const struct stale_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(key_is_previous_plus_one(c))
			TH_LOG("cycle %td: key 0x%x after 0x%x is not +1",
			       c - self->run->c, c->rkey, c->prev_rkey);
	}
}

TEST_F(stale_rkey, index_serves_at_most_max_reuse)
{
	const struct stale_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(index_within_max_reuse(c))
			TH_LOG("cycle %td: index 0x%x served %d registrations > %d",
			       c - self->run->c, c->rkey >> 8, c->run,
			       self->run->max_reuse);
	}
}

TEST_F(stale_rkey, index_retires_after_exactly_max_reuse)
{
	const struct stale_cycle *c;

	if (!self->run->exact)
		SKIP(return, "only with --exact, on a fresh pool");
	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(retired_after_max_reuse(c))
			TH_LOG("cycle %td: index 0x%x retired after %d registrations, expected %d",
			       c - self->run->c, c->prev_rkey >> 8,
			       c->prev_run, self->run->max_reuse);
	}
}

TEST_F(stale_rkey, index_retires_within_the_cycles)
{
	if (!self->run->exact)
		SKIP(return, "only with --exact, on a fresh pool");
	if (self->run->cycles <= self->run->max_reuse)
		SKIP(return, "%d cycles cannot outlast frmr_max_reuse %d",
		     self->run->cycles, self->run->max_reuse);
	EXPECT_GT(self->run->retirements, 0)
		TH_LOG("no retirement in %d cycles with frmr_max_reuse %d",
		       self->run->cycles, self->run->max_reuse);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "exact", no_argument, NULL, 'x' }, { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "d:g:n:p:m:", opts, NULL)) != -1) {
		if (frmr_opt(c, &stale.dev, &stale.gid_index, &stale.cycles,
			     &stale.pages))
			continue;
		switch (c) {
		case 'm':
			stale.max_reuse = atoi(optarg);
			break;
		case 'x':
			stale.exact = true;
			break;
		default:
			die("bad option\n");
		}
	}
	if (!stale.max_reuse)
		stale.max_reuse = read_max_reuse();
	if (stale.max_reuse < 1 || stale.max_reuse > 255)
		die("frmr_max_reuse unknown (%d): is rdma_rxe pooled?\n",
		    stale.max_reuse);
	if (stale.cycles < 1)
		die("no cycles\n");

	stale_cycles();

	/* what follows "--" is the harness's: -t TEST, -l, ... */
	argv[optind - 1] = argv[0];
	argc -= optind - 1;
	argv += optind - 1;
	optind = 1;
	return test_harness_run(argc, argv);
}
