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
 *
 * Usage: frmr_mw_dereg [-d DEV] [-g GID_INDEX] [-n CYCLES] [-p PAGES]
 * Exit status 0 when every check held; the last line is a summary.
 */
#include <getopt.h>
#include <stdint.h>
#include "frmr_verbs.h"

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_MW_BIND)

static struct ibv_mr *reg(struct ibv_pd *pd, void *buf, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, buf, len, MR_ACCESS);

	if (!mr)
		die("reg_mr: %s\n", strerror(errno));
	return mr;
}

int main(int argc, char **argv)
{
	int c, i, cycles = 5, pages = 6, gid_index = 1;
	struct ibv_mr *a, *b, *cmr, *src;
	unsigned char *buf, *bbuf, *sbuf;
	const char *dev = "rxe0";
	struct ibv_context *ctx;
	union ibv_gid gid;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_pd *pd;
	struct ibv_mw *mw;
	struct ibv_wc wc;
	size_t len;

	while ((c = getopt(argc, argv, "d:g:n:p:")) != -1)
		if (!frmr_opt(c, &dev, &gid_index, &cycles, &pages))
			die("bad option\n");
	if (cycles < 1 || pages < 1)
		die("bad parameters\n");
	len = (size_t)pages * PAGE;

	ctx = frmr_open_device(dev);
	if (ibv_query_gid(ctx, 1, gid_index, &gid))
		die("query_gid %s %d\n", dev, gid_index);
	pd = ibv_alloc_pd(ctx);
	cq = pd ? ibv_create_cq(ctx, 16, NULL, NULL, 0) : NULL;
	qp = cq ? frmr_rc_qp(pd, cq) : NULL;
	if (!qp)
		die("pd/cq/qp: %s\n", strerror(errno));
	frmr_qp_to_rts(qp, qp->qp_num, &gid, gid_index);
	buf = frmr_alloc(len);
	bbuf = frmr_alloc(len);
	sbuf = frmr_alloc(PAGE);
	src = ibv_reg_mr(pd, sbuf, PAGE, IBV_ACCESS_LOCAL_WRITE);
	if (!src)
		die("reg_mr src: %s\n", strerror(errno));

	for (i = 0; i < cycles; i++) {
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
		__u32 ia, ib, ic;

		memset(buf, 0, len);
		a = reg(pd, buf, len);
		ia = a->lkey >> 8;
		mw = ibv_alloc_mw(pd, IBV_MW_TYPE_1);
		if (!mw)
			die("alloc_mw: %s\n", strerror(errno));
		bind.bind_info.mr = a;
		if (ibv_bind_mw(qp, mw, &bind))
			die("bind_mw: %s\n", strerror(errno));
		wc = frmr_wait_wc(cq);
		if (wc.status != IBV_WC_SUCCESS)
			die("bind_mw completion: %s\n", ibv_wc_status_str(wc.status));

		if (!ibv_dereg_mr(a)) {
			fail("cycle %d: dereg of an MR with a bound window succeeded\n", i);
			break;
		}
		b = reg(pd, bbuf, len);
		ib = b->lkey >> 8;
		if (ib == ia)
			fail("cycle %d: new MR got index %u of the MR whose dereg failed\n",
			     i, ia);

		memset(sbuf, 0x5a + i, PAGE);
		wr.wr.rdma.remote_addr = (uintptr_t)buf + PAGE;
		wr.wr.rdma.rkey = mw->rkey;
		if (ibv_post_send(qp, &wr, &bad))
			die("post_send: %s\n", strerror(errno));
		wc = frmr_wait_wc(cq);
		if (wc.status != IBV_WC_SUCCESS)
			fail("cycle %d: write through the window: %s\n", i,
			     ibv_wc_status_str(wc.status));
		else if (memcmp(buf + PAGE, sbuf, PAGE))
			fail("cycle %d: write through the window did not land\n", i);

		if (ibv_dealloc_mw(mw))
			die("dealloc_mw: %s\n", strerror(errno));
		if (ibv_dereg_mr(a))
			die("dereg_mr A after dealloc_mw: %s\n", strerror(errno));
		if (ibv_dereg_mr(b))
			die("dereg_mr B: %s\n", strerror(errno));
		cmr = reg(pd, buf, len);
		ic = cmr->lkey >> 8;
		if (ic != ia && ic != ib)
			fail("cycle %d: index %u is neither A's %u nor B's %u: not reused\n",
			     i, ic, ia, ib);
		if (ibv_dereg_mr(cmr))
			die("dereg_mr C: %s\n", strerror(errno));
		printf("cycle %d: A index %u kept while bound, B index %u, C index %u\n",
		       i, ia, ib, ic);
	}
	ibv_dereg_mr(src);
	ibv_destroy_qp(qp);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("%d cycles, %d failures\n", cycles, failures);
	return frmr_exit_status();
}
