// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_read_replay - a replayed RDMA READ checks the MR's PD and access again.
 *
 * A requester QP on one rxe device reads an MR of a responder QP on another
 * device, across a wire whose responder-to-requester direction the caller can
 * block (tc). The READ's response is lost, so the requester retransmits it;
 * the responder sees a duplicate READ and replays it from its responder
 * resource (rxe_resp.c: duplicate_request() -> read_reply() ->
 * rxe_recheck_mr()), without going through check_rkey() again.
 *
 *  - replay-same-pd: block, post the READ, change the MR's memory, unblock.
 *    The READ must succeed with the new bytes: the data came from a replay
 *    (the first response was dropped), so the replay path ran.
 *  - fresh-read-other-pd: move the MR to another PD of the same process
 *    (ibv_rereg_mr(IBV_REREG_MR_CHANGE_PD): same lkey/rkey), post a READ.
 *    It must fail with IBV_WC_REM_ACCESS_ERR: check_rkey() checks the PD.
 *  - replay-other-pd: block, post the READ (served under the MR's first PD),
 *    move the MR to the other PD and change its memory, unblock. The replay
 *    must not return the memory: the QP's PD no longer owns the MR.
 *  - replay-no-remote-read: block, post the READ (served while the MR grants
 *    remote read), take remote read away (ibv_rereg_mr() with
 *    IBV_REREG_MR_CHANGE_ACCESS, local write only: same lkey/rkey) and change
 *    its memory, unblock. The replay must not return the memory.
 *  - fresh-read-no-remote-read: then a new READ of that MR must fail with
 *    IBV_WC_REM_ACCESS_ERR and return nothing.
 *
 * Each blocked READ must have been seen again by the responder (its
 * duplicate_request counter grows). Each case uses a new QP pair.
 * libibverbs' rxe provider (rdma-core 44) has no rereg_mr: when
 * ibv_rereg_mr() says so, the command goes to the kernel through the uverbs
 * write interface, which any process may use.
 *
 * Usage: frmr_read_replay [-r DEV] [-s DEV] [-g GID_INDEX] [-p PAGES]
 *                         -B BLOCK_CMD -U UNBLOCK_CMD
 * -r: the requester's device (rxe0), -s: the responder's (rxe1); BLOCK_CMD
 * drops every packet from the responder to the requester, UNBLOCK_CMD stops
 * that. Exit status 0 when every check held; the last line is a summary.
 */
#include <getopt.h>
#include <stdint.h>
#include <unistd.h>
#include <rdma/ib_user_verbs.h>
#include "frmr_verbs.h"

#define TIMEOUT		19	/* 2.1 s: the block ends before a retry */

static struct ibv_context *rctx, *sctx;
static struct ibv_pd *rpd, *spd[2];
static struct ibv_cq *rcq, *scq;
static union ibv_gid rgid, sgid;
static int gid_index = 1;
static const char *sdev = "rxe1", *block_cmd, *unblock_cmd;

struct qp_pair {
	struct ibv_qp *req, *resp;
};

static struct qp_pair pair_create(void)
{
	struct qp_pair p;

	p.req = frmr_rc_qp(rpd, rcq);
	p.resp = frmr_rc_qp(spd[0], scq);
	if (!p.req || !p.resp)
		die("create_qp: %s\n", strerror(errno));
	frmr_qp_connect(p.req, p.resp->qp_num, &sgid, gid_index, 0, TIMEOUT, 7);
	frmr_qp_connect(p.resp, p.req->qp_num, &rgid, gid_index,
			IBV_ACCESS_REMOTE_READ, TIMEOUT, 7);
	return p;
}

static void pair_destroy(struct qp_pair *p)
{
	struct ibv_wc wc;

	if (ibv_destroy_qp(p->req) || ibv_destroy_qp(p->resp))
		die("destroy_qp: %s\n", strerror(errno));
	while (ibv_poll_cq(rcq, 1, &wc) > 0)
		;
	while (ibv_poll_cq(scq, 1, &wc) > 0)
		;
}

static void post_read(struct ibv_qp *qp, struct ibv_mr *dst, __u64 raddr,
		      __u32 rkey, __u32 len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)dst->addr, .length = len, .lkey = dst->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_RDMA_READ, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;

	if (ibv_post_send(qp, &wr, &bad))
		die("post_send: %s\n", strerror(errno));
}

static void run(const char *what, const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		die("%s: '%s' exited %d\n", what, cmd, rc);
}

/*
 * ibv_rereg_mr() with @flags IBV_REREG_MR_CHANGE_PD and/or
 * IBV_REREG_MR_CHANGE_ACCESS, by the uverbs write ABI if need be
 */
static void rereg(struct ibv_mr *mr, int flags, struct ibv_pd *pd,
		  int access)
{
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_rereg_mr cmd;
	} req = {};
	struct ib_uverbs_rereg_mr_resp resp = {};

	if (!ibv_rereg_mr(mr, flags, pd, NULL, 0, access))
		goto check;
	/* the provider lacks rereg_mr (EOPNOTSUPP): ask the kernel */

	req.hdr.command = IB_USER_VERBS_CMD_REREG_MR;
	req.hdr.in_words = sizeof(req) / 4;
	req.hdr.out_words = sizeof(resp) / 4;
	req.cmd.response = (uintptr_t)&resp;
	req.cmd.mr_handle = mr->handle;
	req.cmd.flags = flags;	/* IB_MR_REREG_PD, IB_MR_REREG_ACCESS */
	if (flags & IBV_REREG_MR_CHANGE_PD)
		req.cmd.pd_handle = pd->handle;
	req.cmd.access_flags = access;
	if (write(mr->context->cmd_fd, &req, sizeof(req)) != sizeof(req))
		die("uverbs rereg_mr: %s\n", strerror(errno));
	if (resp.lkey != mr->lkey || resp.rkey != mr->rkey)
		die("rereg_mr changed the keys: 0x%x/0x%x -> 0x%x/0x%x\n",
		    mr->lkey, mr->rkey, resp.lkey, resp.rkey);
	if (flags & IBV_REREG_MR_CHANGE_PD)
		mr->pd = pd;
check:
	if ((flags & IBV_REREG_MR_CHANGE_PD) && mr->pd != pd)
		die("rereg_mr did not move the MR\n");
}

static void move_mr(struct ibv_mr *mr, struct ibv_pd *pd)
{
	rereg(mr, IBV_REREG_MR_CHANGE_PD, pd, 0);
}

/* the responder's duplicate_request counter */
static long duplicates(void)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/1/hw_counters/duplicate_request",
		 sdev);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%ld", &n) != 1)
		die("%s: cannot read\n", path);
	fclose(f);
	return n;
}

static size_t count_byte(const unsigned char *b, size_t len, unsigned char c)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += b[i] == c;
	return n;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * Post a READ of @mr while the responses are blocked; once the responder has
 * answered (into the void), fill @mr with @c (after rereg(@flags, @to,
 * @access) if @flags) and unblock. Returns the READ's completion status;
 * fails @what when the responder saw no duplicate.
 */
static enum ibv_wc_status blocked_read(const char *what, struct ibv_mr *mr,
				       struct ibv_mr *dst, size_t len,
				       unsigned char c, int flags,
				       struct ibv_pd *to, int access,
				       double *unblocked)
{
	struct qp_pair p = pair_create();
	enum ibv_wc_status st;
	long d0 = duplicates();
	double t0;

	run("block", block_cmd);
	t0 = now();
	post_read(p.req, dst, (uintptr_t)mr->addr, mr->rkey, len);
	usleep(300000);
	if (flags)
		rereg(mr, flags, to, access);
	memset(mr->addr, c, len);
	run("unblock", unblock_cmd);
	*unblocked = now() - t0;
	st = frmr_wait_wc(rcq).status;
	pair_destroy(&p);
	if (duplicates() == d0)
		fail("%s: the responder saw no duplicate READ\n", what);
	return st;
}

/* A READ of @mr on a new QP pair; fails @what unless it is refused. */
static void refused_read(const char *what, struct ibv_mr *mr,
			 struct ibv_mr *dst, size_t len)
{
	enum ibv_wc_status st;
	struct qp_pair p;

	memset(dst->addr, 0, len);
	p = pair_create();
	post_read(p.req, dst, (uintptr_t)mr->addr, mr->rkey, len);
	st = frmr_wait_wc(rcq).status;
	pair_destroy(&p);
	printf("%s: %s\n", what, ibv_wc_status_str(st));
	if (st != IBV_WC_REM_ACCESS_ERR)
		fail("%s: %s, not a remote access error\n", what,
		     ibv_wc_status_str(st));
	if (count_byte(dst->addr, len, 0) != len)
		fail("%s: the READ returned data\n", what);
}

/* Fails @what unless the replayed READ that filled @dbuf with @c failed. */
static void replay_refused(const char *what, enum ibv_wc_status st,
			   const unsigned char *dbuf, size_t len,
			   unsigned char c, double unblocked)
{
	printf("%s: %s, %zu of %zu bytes written after the rereg, unblocked after %.2f s\n",
	       what, ibv_wc_status_str(st), count_byte(dbuf, len, c), len,
	       unblocked);
	if (st == IBV_WC_SUCCESS)
		fail("%s: the replay succeeded after the rereg\n", what);
	if (count_byte(dbuf, len, c))
		fail("%s: the READ returned memory it may no longer read\n",
		     what);
	if (st != IBV_WC_REM_ACCESS_ERR)
		printf("note: %s rather than a remote access error%s\n",
		       ibv_wc_status_str(st),
		       unblocked > 2.0 ? " (unblocked after the first retry)" : "");
}

int main(int argc, char **argv)
{
	const char *rdev = "rxe0";
	double t_same, t_other, t_access;
	enum ibv_wc_status st;
	struct ibv_mr *mr, *dst;
	unsigned char *buf, *dbuf;
	int c, pages = 2;
	size_t len;

	while ((c = getopt(argc, argv, "r:s:g:p:B:U:")) != -1) {
		if (frmr_opt(c, NULL, &gid_index, NULL, &pages))
			continue;
		switch (c) {
		case 'r':
			rdev = optarg;
			break;
		case 's':
			sdev = optarg;
			break;
		case 'B':
			block_cmd = optarg;
			break;
		case 'U':
			unblock_cmd = optarg;
			break;
		default:
			die("bad option\n");
		}
	}
	if (!block_cmd || !unblock_cmd || pages < 1)
		die("usage: %s [-r DEV] [-s DEV] [-g GID] [-p PAGES] -B CMD -U CMD\n",
		    argv[0]);
	len = (size_t)pages * PAGE;

	rctx = frmr_open_device(rdev);
	sctx = frmr_open_device(sdev);
	if (ibv_query_gid(rctx, 1, gid_index, &rgid) ||
	    ibv_query_gid(sctx, 1, gid_index, &sgid))
		die("query_gid %d\n", gid_index);
	rpd = ibv_alloc_pd(rctx);
	spd[0] = ibv_alloc_pd(sctx);
	spd[1] = ibv_alloc_pd(sctx);
	rcq = ibv_create_cq(rctx, 16, NULL, NULL, 0);
	scq = ibv_create_cq(sctx, 16, NULL, NULL, 0);
	if (!rpd || !spd[0] || !spd[1] || !rcq || !scq)
		die("pd/cq\n");
	buf = frmr_alloc(len);
	dbuf = frmr_alloc(len);
	memset(buf, 0x11, len);
	mr = ibv_reg_mr(spd[0], buf, len,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
	dst = ibv_reg_mr(rpd, dbuf, len, IBV_ACCESS_LOCAL_WRITE);
	if (!mr || !dst)
		die("reg_mr: %s\n", strerror(errno));
	printf("responder MR rkey 0x%x, %zu bytes\n", mr->rkey, len);

	/* the READ is answered by a replay, which reads the memory again */
	memset(dbuf, 0, len);
	st = blocked_read("replay-same-pd", mr, dst, len, 0x22, 0, NULL, 0,
			  &t_same);
	printf("replay-same-pd: %s, unblocked after %.2f s\n",
	       ibv_wc_status_str(st), t_same);
	if (st != IBV_WC_SUCCESS)
		fail("replay-same-pd: %s\n", ibv_wc_status_str(st));
	else if (count_byte(dbuf, len, 0x22) != len)
		fail("replay-same-pd: the READ did not return the replayed bytes\n");

	/* a new READ under the other PD is refused */
	move_mr(mr, spd[1]);
	refused_read("fresh-read-other-pd", mr, dst, len);
	move_mr(mr, spd[0]);

	/* a replay after the MR left the QP's PD returns nothing */
	memset(dbuf, 0, len);
	st = blocked_read("replay-other-pd", mr, dst, len, 0x33,
			  IBV_REREG_MR_CHANGE_PD, spd[1], 0, &t_other);
	replay_refused("replay-other-pd", st, dbuf, len, 0x33, t_other);
	move_mr(mr, spd[0]);

	/* a replay after remote read was taken away returns nothing */
	memset(dbuf, 0, len);
	st = blocked_read("replay-no-remote-read", mr, dst, len, 0x44,
			  IBV_REREG_MR_CHANGE_ACCESS, NULL,
			  IBV_ACCESS_LOCAL_WRITE, &t_access);
	replay_refused("replay-no-remote-read", st, dbuf, len, 0x44, t_access);

	/* and a new READ is refused */
	refused_read("fresh-read-no-remote-read", mr, dst, len);

	printf("replay checks done, failures %d\n", failures);
	ibv_dereg_mr(mr);
	ibv_dereg_mr(dst);
	ibv_destroy_cq(rcq);
	ibv_destroy_cq(scq);
	ibv_dealloc_pd(rpd);
	ibv_dealloc_pd(spd[0]);
	ibv_dealloc_pd(spd[1]);
	ibv_close_device(rctx);
	ibv_close_device(sctx);
	free(buf);
	free(dbuf);
	return frmr_exit_status();
}
