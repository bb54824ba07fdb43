// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_mw_dereg - an MR with a memory window bound keeps its pooled handle.
 *
 * rxe refuses to deregister an MR while a memory window is bound to it
 * (IBA 10.6.7.2.6), and must do so before the MR's handle could go back to
 * its pool. One RC QP connected to itself (loopback). Each cycle:
 *  - registers MR A, binds a type 1 memory window to it;
 *  - ibv_dereg_mr(A) must fail;
 *  - registers MR B of the same size: B's MR index must differ from A's
 *    (a pool is a LIFO stack: had A's handle been pushed, B would get it);
 *  - an RDMA WRITE through the window must still land in A's buffer;
 *  - deallocates the window; now ibv_dereg_mr(A) and (B) must succeed, and
 *    a new MR C of the same size reuses A's or B's index (both went back).
 * The cycles run once, before the tests (set-up: every registration reaches
 * the pools once), and stop after a dereg of a bound MR succeeded; each test
 * then checks one of these properties over every cycle.
 *
 * Usage: frmr_mw_dereg [-d DEV] [-g GID_INDEX] [-n CYCLES] [-p PAGES]
 *                      [-- HARNESS_OPTIONS]
 * Output is KTAP (kselftest_harness.h): one test per check. Exit status 0
 * when every test passed, 1 when one failed, 2 when the set-up failed.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include "frmr_verbs.h"
#include "../../kselftest_harness.h"

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_MW_BIND)

/* What one cycle saw. */
struct mw_cycle {
	bool bound_dereg_refused;	/* ibv_dereg_mr(A) failed while bound */
	__u32 ia, ib, ic;		/* MR indexes of A, B and C */
	enum ibv_wc_status write_st;	/* the write through the window */
	bool write_landed;		/* its data arrived in A's buffer */
};

/* The options and what the cycles saw, set before the tests run. */
static struct mw_run {
	const char *dev;
	int gid_index, cycles, pages;
	int ran;		/* cycles run */
	int full;		/* of those, run to their end: all but a */
				/* last one whose dereg of a bound MR succeeded */
	struct mw_cycle *c;	/* [ran] */
} mw = {
	.dev = "rxe0", .gid_index = 1, .cycles = 5, .pages = 6,
};

static struct ibv_mr *reg(struct ibv_pd *pd, void *buf, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, buf, len, MR_ACCESS);

	if (!mr)
		die("reg_mr: %s\n", strerror(errno));
	return mr;
}

/* The set-up: the cycles, recorded in mw.c[]; dies when one cannot run. */
static void mw_cycles(void)
{
	struct ibv_mr *a, *b, *cmr, *src;
	unsigned char *buf, *bbuf, *sbuf;
	size_t len = (size_t)mw.pages * PAGE;
	struct ibv_context *ctx;
	union ibv_gid gid;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_pd *pd;
	struct ibv_mw *w;
	struct ibv_wc wc;
	int i;

	mw.c = calloc(mw.cycles, sizeof(*mw.c));
	if (!mw.c)
		die("memory\n");
	ctx = frmr_open_device(mw.dev);
	if (ibv_query_gid(ctx, 1, mw.gid_index, &gid))
		die("query_gid %s %d\n", mw.dev, mw.gid_index);
	pd = ibv_alloc_pd(ctx);
	cq = pd ? ibv_create_cq(ctx, 16, NULL, NULL, 0) : NULL;
	qp = cq ? frmr_rc_qp(pd, cq) : NULL;
	if (!qp)
		die("pd/cq/qp: %s\n", strerror(errno));
	frmr_qp_to_rts(qp, qp->qp_num, &gid, mw.gid_index);
	buf = frmr_alloc(len);
	bbuf = frmr_alloc(len);
	sbuf = frmr_alloc(PAGE);
	src = ibv_reg_mr(pd, sbuf, PAGE, IBV_ACCESS_LOCAL_WRITE);
	if (!src)
		die("reg_mr src: %s\n", strerror(errno));

	for (i = 0; i < mw.cycles; i++) {
		struct mw_cycle *c = &mw.c[i];
		struct ibv_mw_bind bind = {
			.wr_id = 1, .send_flags = IBV_SEND_SIGNALED,
			.bind_info = { .addr = (uintptr_t)buf, .length = len,
				       .mw_access_flags = IBV_ACCESS_REMOTE_WRITE },
		};
		struct ibv_sge sge = {
			.addr = (uintptr_t)sbuf, .length = PAGE, .lkey = src->lkey,
		};
		struct ibv_send_wr wr = {
			.wr_id = 2, .sg_list = &sge, .num_sge = 1,
			.opcode = IBV_WR_RDMA_WRITE,
			.send_flags = IBV_SEND_SIGNALED,
		}, *bad;

		mw.ran = i + 1;
		memset(buf, 0, len);
		a = reg(pd, buf, len);
		c->ia = a->lkey >> 8;
		w = ibv_alloc_mw(pd, IBV_MW_TYPE_1);
		if (!w)
			die("alloc_mw: %s\n", strerror(errno));
		bind.bind_info.mr = a;
		if (ibv_bind_mw(qp, w, &bind))
			die("bind_mw: %s\n", strerror(errno));
		wc = frmr_wait_wc(cq);
		if (wc.status != IBV_WC_SUCCESS)
			die("bind_mw completion: %s\n", ibv_wc_status_str(wc.status));

		c->bound_dereg_refused = ibv_dereg_mr(a) != 0;
		if (!c->bound_dereg_refused)
			break;
		b = reg(pd, bbuf, len);
		c->ib = b->lkey >> 8;

		memset(sbuf, 0x5a + i, PAGE);
		wr.wr.rdma.remote_addr = (uintptr_t)buf + PAGE;
		wr.wr.rdma.rkey = w->rkey;
		if (ibv_post_send(qp, &wr, &bad))
			die("post_send: %s\n", strerror(errno));
		wc = frmr_wait_wc(cq);
		c->write_st = wc.status;
		c->write_landed = wc.status == IBV_WC_SUCCESS &&
				  !memcmp(buf + PAGE, sbuf, PAGE);

		if (ibv_dealloc_mw(w))
			die("dealloc_mw: %s\n", strerror(errno));
		if (ibv_dereg_mr(a))
			die("dereg_mr A after dealloc_mw: %s\n", strerror(errno));
		if (ibv_dereg_mr(b))
			die("dereg_mr B: %s\n", strerror(errno));
		cmr = reg(pd, buf, len);
		c->ic = cmr->lkey >> 8;
		if (ibv_dereg_mr(cmr))
			die("dereg_mr C: %s\n", strerror(errno));
		mw.full = i + 1;
		ksft_print_msg("cycle %d: A index %u kept while bound, B index %u, C index %u\n",
			       i, c->ia, c->ib, c->ic);
	}
	ibv_dereg_mr(src);
	ibv_destroy_qp(qp);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	ksft_print_msg("%d cycles of %d\n", mw.ran, mw.cycles);
}

FIXTURE(mw_dereg) {
	const struct mw_run *run;
};

FIXTURE_SETUP(mw_dereg)
{
	self->run = &mw;
	ASSERT_GT(self->run->ran, 0);
}

FIXTURE_TEARDOWN(mw_dereg)
{
}

TEST_F(mw_dereg, dereg_of_bound_mr_fails)
{
	const struct mw_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->ran; c++) {
		EXPECT_TRUE(c->bound_dereg_refused)
			TH_LOG("cycle %td: dereg of an MR with a bound window succeeded",
			       c - self->run->c);
	}
}

TEST_F(mw_dereg, bound_mr_keeps_its_handle)
{
	const struct mw_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->full; c++) {
		EXPECT_NE(c->ia, c->ib)
			TH_LOG("cycle %td: new MR got index %u of the MR whose dereg failed",
			       c - self->run->c, c->ia);
	}
}

TEST_F(mw_dereg, write_through_window_succeeds)
{
	const struct mw_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->full; c++) {
		EXPECT_TRUE(c->write_st == IBV_WC_SUCCESS)
			TH_LOG("cycle %td: write through the window: %s",
			       c - self->run->c, ibv_wc_status_str(c->write_st));
	}
}

TEST_F(mw_dereg, write_through_window_lands)
{
	const struct mw_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->full; c++) {
		EXPECT_TRUE(c->write_st != IBV_WC_SUCCESS || c->write_landed)
			TH_LOG("cycle %td: write through the window did not land",
			       c - self->run->c);
	}
}

TEST_F(mw_dereg, handles_return_after_dealloc)
{
	const struct mw_cycle *c;

	for (c = self->run->c; c < self->run->c + self->run->full; c++) {
		EXPECT_TRUE(c->ic == c->ia || c->ic == c->ib)
			TH_LOG("cycle %td: index %u is neither A's %u nor B's %u: not reused",
			       c - self->run->c, c->ic, c->ia, c->ib);
	}
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "d:g:n:p:")) != -1)
		if (!frmr_opt(c, &mw.dev, &mw.gid_index, &mw.cycles, &mw.pages))
			die("bad option\n");
	if (mw.cycles < 1 || mw.pages < 1)
		die("bad parameters\n");

	mw_cycles();

	/* what follows "--" is the harness's: -t TEST, -l, ... */
	argv[optind - 1] = argv[0];
	argc -= optind - 1;
	argv += optind - 1;
	optind = 1;
	return test_harness_run(argc, argv);
}
