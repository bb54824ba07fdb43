// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_reuse_bounds - an MR on a handle from a larger pool reaches nothing
 * beyond its own length.
 *
 * A pool may serve an MR of N pages with a handle of a pool of M pages,
 * N < M < 2N. The handle's page storage then has M - N entries the new MR
 * does not fill, which held the previous owner's pages. This test makes that
 * happen and tries to reach those pages:
 *  - registers MR "old" of M pages on buffer A (pattern OLD_BYTE), notes its
 *    MR index (rkey >> 8), deregisters it: its handle is queued;
 *  - registers MR "new" of N pages on buffer B (pattern NEW_BYTE); its index
 *    must be the old one (the handle was reused; otherwise the test proves
 *    nothing and fails);
 *  - from an RC QP on the same device (loopback), RDMA READ and WRITE the
 *    last page of the new MR: they must succeed (B's bytes, B changed);
 *  - RDMA READ and WRITE with the new rkey just past the new MR's end, across
 *    the end, at the last page the old MR covered, and at A's address; and
 *    READ and WRITE with the old rkey at A: each must complete with
 *    IBV_WC_REM_ACCESS_ERR and put the requester QP in ERR; no READ may
 *    bring back a byte of OLD_BYTE, no WRITE may change A or B.
 * Whether the page storage beyond N held stale page pointers only rxe can
 * tell: its test-only frmr_check_clean parameter, which the scenario sets
 * and reads (reuse_larger_handle in frmr-pools-lib.sh).
 *
 * Usage: frmr_reuse_bounds [-d DEV] [-g GID_INDEX] [-m M_PAGES] [-n N_PAGES]
 * Exit status 0 when every check held; the last line is a summary.
 */
#include <getopt.h>
#include <stdint.h>
#include <linux/types.h>
#include <unistd.h>
#include "frmr_verbs.h"

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)
#define OLD_BYTE	0xa5
#define NEW_BYTE	0x3c
#define SRC_BYTE	0x77
#define DST_BYTE	0x00
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct frmr_loopback lb;
static int gid_index = 1;

static size_t count_byte(const unsigned char *b, size_t len, unsigned char c)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += b[i] == c;
	return n;
}

struct bufs {
	unsigned char *a, *b, *src, *dst;
	size_t alen, blen;
	struct ibv_mr *src_mr, *dst_mr;
};

/*
 * A request that must be refused: remote access error, requester QP in ERR,
 * nothing of A read back, A and B unchanged. Returns whether it held.
 */
static int refused(struct bufs *s, const char *what, enum ibv_wr_opcode op,
		   __u64 raddr, __u32 rkey, __u32 len)
{
	int ok = 1, in_err;
	enum ibv_wc_status st;
	size_t n;

	memset(s->dst, DST_BYTE, PAGE);
	st = frmr_loopback_rdma(&lb, op, op == IBV_WR_RDMA_READ ? s->dst_mr :
				s->src_mr, raddr, rkey, len);
	in_err = frmr_qp_wait_state(lb.qp[0], IBV_QPS_ERR);
	if (st != IBV_WC_REM_ACCESS_ERR) {
		fail("%s: status %s, want %s\n", what, ibv_wc_status_str(st),
		     ibv_wc_status_str(IBV_WC_REM_ACCESS_ERR));
		ok = 0;
	}
	if (!in_err) {
		fail("%s: requester QP not in ERR\n", what);
		ok = 0;
	}
	n = count_byte(s->dst, PAGE, OLD_BYTE);
	if (n) {
		fail("%s: read back %zu bytes of the old MR's pattern\n",
		     what, n);
		ok = 0;
	}
	if (!frmr_buf_is(s->a, s->alen, OLD_BYTE)) {
		fail("%s: the old MR's pages changed\n", what);
		ok = 0;
	}
	if (!frmr_buf_is(s->b, s->blen, NEW_BYTE)) {
		fail("%s: the new MR's pages changed\n", what);
		ok = 0;
	}
	printf("%-44s %s%s\n", what, ibv_wc_status_str(st),
	       ok ? "" : "  <- FAIL");
	frmr_qps_reset(lb.qp, lb.cq, &lb.gid, gid_index);
	return ok;
}

struct refused_case {
	const char *what;
	enum ibv_wr_opcode op;
	__u64 addr;
	__u32 rkey, len;
};

/*
 * Every request beyond the new MR (rkey @rkey on B) and through the old
 * rkey @old_rkey on A; returns how many were refused as they must be.
 */
static int refusals(struct bufs *s, __u32 rkey, __u32 old_rkey,
		    int *checks)
{
	__u64 end = (uintptr_t)s->b + s->blen, a = (uintptr_t)s->a;
	__u64 old_last = (uintptr_t)s->b + s->alen - PAGE;
	const struct refused_case cases[] = {
		{ "READ new rkey [end, end + 1 page)", IBV_WR_RDMA_READ,
		  end, rkey, PAGE },
		{ "WRITE new rkey [end, end + 1 page)", IBV_WR_RDMA_WRITE,
		  end, rkey, PAGE },
		{ "READ new rkey [end, end + 1)", IBV_WR_RDMA_READ,
		  end, rkey, 1 },
		{ "WRITE new rkey [end, end + 1)", IBV_WR_RDMA_WRITE,
		  end, rkey, 1 },
		{ "READ new rkey across the end", IBV_WR_RDMA_READ,
		  end - 8, rkey, 16 },
		{ "WRITE new rkey across the end", IBV_WR_RDMA_WRITE,
		  end - 8, rkey, 16 },
		/* where the old MR's last page would be, had B been M long */
		{ "READ new rkey at old MR's last page offset", IBV_WR_RDMA_READ,
		  old_last, rkey, PAGE },
		{ "WRITE new rkey at old MR's last page offset", IBV_WR_RDMA_WRITE,
		  old_last, rkey, PAGE },
		{ "READ new rkey at the old MR's address", IBV_WR_RDMA_READ,
		  a, rkey, PAGE },
		{ "WRITE new rkey at the old MR's address", IBV_WR_RDMA_WRITE,
		  a, rkey, PAGE },
		{ "READ old rkey at the old MR's address", IBV_WR_RDMA_READ,
		  a, old_rkey, PAGE },
		{ "WRITE old rkey at the old MR's address", IBV_WR_RDMA_WRITE,
		  a, old_rkey, PAGE },
	};
	int held = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		(*checks)++;
		held += refused(s, cases[i].what, cases[i].op, cases[i].addr,
				cases[i].rkey, cases[i].len);
	}
	return held;
}

int main(int argc, char **argv)
{
	int c, m = 45, n = 30, checks = 0, held = 0;
	const char *dev = "rxe0";
	struct ibv_mr *old, *new;
	__u32 old_rkey, idx;
	enum ibv_wc_status st;
	__u64 end;
	struct bufs s;

	while ((c = getopt(argc, argv, "d:g:m:n:")) != -1) {
		if (frmr_opt(c, &dev, &gid_index, NULL, NULL))
			continue;
		switch (c) {
		case 'm':
			m = atoi(optarg);
			break;
		case 'n':
			n = atoi(optarg);
			break;
		default:
			die("bad option\n");
		}
	}
	/* the pools' reuse policy: a larger pool below twice the request */
	if (n < 2 || m <= n || m >= 2 * n)
		die("need N >= 2 and N < M < 2N (M %d, N %d)\n", m, n);

	frmr_loopback_pair(&lb, dev, gid_index);

	s.alen = (size_t)m * PAGE;
	s.blen = (size_t)n * PAGE;
	s.a = frmr_alloc(s.alen);
	s.b = frmr_alloc(s.blen);
	s.src = frmr_alloc(PAGE);
	s.dst = frmr_alloc(PAGE);
	memset(s.a, OLD_BYTE, s.alen);
	memset(s.b, NEW_BYTE, s.blen);
	memset(s.src, SRC_BYTE, PAGE);
	/* one page each: never in a pool that could serve N pages */
	s.src_mr = ibv_reg_mr(lb.pd, s.src, PAGE, IBV_ACCESS_LOCAL_WRITE);
	s.dst_mr = ibv_reg_mr(lb.pd, s.dst, PAGE, IBV_ACCESS_LOCAL_WRITE);
	if (!s.src_mr || !s.dst_mr)
		die("reg_mr: %s\n", strerror(errno));

	old = ibv_reg_mr(lb.pd, s.a, s.alen, MR_ACCESS);
	if (!old)
		die("reg_mr old: %s\n", strerror(errno));
	old_rkey = old->rkey;
	if (ibv_dereg_mr(old))
		die("dereg_mr old: %s\n", strerror(errno));

	new = ibv_reg_mr(lb.pd, s.b, s.blen, MR_ACCESS);
	if (!new)
		die("reg_mr new: %s\n", strerror(errno));
	idx = new->rkey >> 8;
	printf("old MR %d pages rkey 0x%x, new MR %d pages rkey 0x%x\n",
	       m, old_rkey, n, new->rkey);
	if (idx != old_rkey >> 8)
		fail("the new MR (index 0x%x) did not reuse the old MR's handle (index 0x%x)\n",
		     idx, old_rkey >> 8);

	/* positive controls: the new MR's last page is readable and writable */
	end = (uintptr_t)s.b + s.blen;
	memset(s.dst, DST_BYTE, PAGE);
	st = frmr_loopback_rdma(&lb, IBV_WR_RDMA_READ, s.dst_mr, end - PAGE,
				new->rkey, PAGE);
	if (st != IBV_WC_SUCCESS || !frmr_buf_is(s.dst, PAGE, NEW_BYTE))
		fail("READ of the new MR's last page: %s\n",
		     ibv_wc_status_str(st));
	st = frmr_loopback_rdma(&lb, IBV_WR_RDMA_WRITE, s.src_mr, end - PAGE,
				new->rkey, PAGE);
	if (st != IBV_WC_SUCCESS || !frmr_buf_is(s.b + s.blen - PAGE, PAGE, SRC_BYTE))
		fail("WRITE of the new MR's last page: %s\n",
		     ibv_wc_status_str(st));
	memset(s.b, NEW_BYTE, s.blen);
	if (failures)
		frmr_qps_reset(lb.qp, lb.cq, &lb.gid, gid_index);

	/* what lies beyond the new MR must be out of reach */
	held = refusals(&s, new->rkey, old_rkey, &checks);

	printf("M %d N %d index 0x%x refused %d/%d failures %d\n", m, n, idx,
	       held, checks, failures);

	ibv_dereg_mr(new);
	ibv_dereg_mr(s.src_mr);
	ibv_dereg_mr(s.dst_mr);
	frmr_loopback_close(&lb);
	free(s.a);
	free(s.b);
	free(s.src);
	free(s.dst);
	return frmr_exit_status();
}
