/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * What the FRMR pool test programs share: their error reporting, their
 * common options, page-aligned buffers, opening a device by name, creating
 * an RC QP and walking it to RTS, a loopback pair of QPs, waiting for one
 * completion, and checking a buffer's bytes. Each program is a single translation unit.
 *
 * Exit status of every program: 0 when every check held, 1 when a check
 * failed (fail()), 2 when the test itself could not run (die()).
 */
#ifndef FRMR_VERBS_H
#define FRMR_VERBS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <infiniband/verbs.h>

#define PAGE	4096

static int failures;

#define fail(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); failures++; } while (0)
#define die(...) do { fprintf(stderr, "ERROR: " __VA_ARGS__); exit(2); } while (0)

/* The exit status of a program that ran to its end. */
static inline int frmr_exit_status(void)
{
	return failures ? 1 : 0;
}

/*
 * The options the programs share, for getopt()'s @c: -d DEV into @dev,
 * -g GID_INDEX into @gid_index, -n COUNT into @count and -p PAGES into @pages;
 * a program passes NULL for an option it does not have (and leaves its letter
 * out of getopt()'s list). Returns 0 for another letter: the program's own
 * option, or a bad one.
 */
static inline int frmr_opt(int c, const char **dev, int *gid_index,
			   int *count, int *pages)
{
	if (c == 'd' && dev)
		*dev = optarg;
	else if (c == 'g' && gid_index)
		*gid_index = atoi(optarg);
	else if (c == 'n' && count)
		*count = atoi(optarg);
	else if (c == 'p' && pages)
		*pages = atoi(optarg);
	else
		return 0;
	return 1;
}

/* True when each of the @len bytes at @b is @c. */
static inline bool frmr_buf_is(const unsigned char *b, size_t len,
			       unsigned char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* @len bytes aligned to a page; dies when there is no memory. */
static inline void *frmr_alloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, PAGE, len))
		die("memory\n");
	return p;
}

/* The device named @name, opened; dies when there is none. */
static inline struct ibv_context *frmr_open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	if (!list)
		die("ibv_get_device_list: %s\n", strerror(errno));
	for (i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			break;
	if (!list[i])
		die("no RDMA device %s\n", name);
	ctx = ibv_open_device(list[i]);
	if (!ctx)
		die("cannot open RDMA device %s: %s\n", name, strerror(errno));
	/* an opened device stays valid after its list is freed */
	ibv_free_device_list(list);
	return ctx;
}

/*
 * An RC QP on @pd that sends and receives through @cq, 4 work requests of
 * one SGE each way; NULL (errno set) when it cannot be created.
 */
static inline struct ibv_qp *frmr_rc_qp(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = cq,
		.recv_cq = cq,
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	return ibv_create_qp(pd, &qa);
}

/*
 * RESET -> INIT -> RTR -> RTS for an RC QP on port 1 that sends to
 * @dest_qpn at @gid (loopback: our own GID), PSNs 0, remote @access
 * allowed, retransmission after 4.096 us * 2^@timeout, at most @retry_cnt
 * times. rxe (rxe_comp.c, COMPST_ERROR_RETRY) never counts a retry_cnt of 7
 * down: 7 means "retransmit for ever" there, so a WR whose responder went
 * quiet (its QP in ERR, its answers lost) never completes. 0..6 are counted.
 */
static inline void frmr_qp_connect(struct ibv_qp *qp, __u32 dest_qpn,
				   const union ibv_gid *gid, int gid_index,
				   int access, int timeout, int retry_cnt)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = access,
	};

	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		die("modify INIT: %s\n", strerror(errno));

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = dest_qpn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		die("modify RTR: %s\n", strerror(errno));

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = timeout;
	a.retry_cnt = retry_cnt;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			  IBV_QP_MAX_QP_RD_ATOMIC))
		die("modify RTS: %s\n", strerror(errno));
}

/*
 * frmr_qp_connect() with remote writes and reads allowed, a 67 ms timeout
 * and retry_cnt 7 (no limit on rxe).
 */
static inline void frmr_qp_to_rts(struct ibv_qp *qp, __u32 dest_qpn,
				  const union ibv_gid *gid, int gid_index)
{
	frmr_qp_connect(qp, dest_qpn, gid, gid_index,
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ, 14, 7);
}

static inline enum ibv_qp_state frmr_qp_state(struct ibv_qp *q)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr a;

	if (ibv_query_qp(q, &a, IBV_QP_STATE, &ia))
		die("query_qp: %s\n", strerror(errno));
	return a.qp_state;
}

/* Wait up to 5 s for @q to reach @want; returns whether it did. */
static inline int frmr_qp_wait_state(struct ibv_qp *q, enum ibv_qp_state want)
{
	int ms;

	for (ms = 0; ms < 5000; ms += 10) {
		if (frmr_qp_state(q) == want)
			return 1;
		usleep(10000);
	}
	return 0;
}

/*
 * Bring the loopback pair @qp back to RTS after a failed request, draining
 * @cq. The responder moves its QP to ERR from its own task after it sent the
 * NAK, so the requester can see the error completion first. rxe (6.12) sets
 * RESET before it quiesces that task: a RESET issued in between is
 * overwritten by ERR and the next INIT fails with EINVAL (seen with two guest
 * CPUs). So: let both QPs settle in ERR (a failure that is not an access
 * error may leave the responder in RTS), then reset each one and check that
 * RESET stuck before walking it to RTS.
 */
static inline void frmr_qps_reset(struct ibv_qp *qp[2], struct ibv_cq *cq,
				  const union ibv_gid *gid, int gid_index)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RESET };
	struct ibv_wc wc;
	int i, tries;

	for (i = 0; i < 2; i++) {
		frmr_qp_wait_state(qp[i], IBV_QPS_ERR);
		for (tries = 0;; tries++) {
			if (ibv_modify_qp(qp[i], &a, IBV_QP_STATE))
				die("modify RESET: %s\n", strerror(errno));
			if (frmr_qp_state(qp[i]) == IBV_QPS_RESET)
				break;
			if (tries == 10)
				die("QP %u does not stay in RESET\n",
				    qp[i]->qp_num);
			usleep(10000);
		}
	}
	while (ibv_poll_cq(cq, 1, &wc) > 0)
		;
	frmr_qp_to_rts(qp[0], qp[1]->qp_num, gid, gid_index);
	frmr_qp_to_rts(qp[1], qp[0]->qp_num, gid, gid_index);
}

/*
 * The next completion on @cq into @wc, waiting at most @secs seconds:
 * 1, or 0 when none came.
 */
static inline int frmr_poll_wc(struct ibv_cq *cq, int secs, struct ibv_wc *wc)
{
	struct timespec t0, t;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		n = ibv_poll_cq(cq, 1, wc);
		if (n < 0)
			die("poll_cq\n");
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!n && t.tv_sec - t0.tv_sec > secs)
			return 0;
	} while (!n);
	return 1;
}

/* The next completion on @cq; dies after 20 s without one. */
static inline struct ibv_wc frmr_wait_wc(struct ibv_cq *cq)
{
	struct ibv_wc wc;

	if (!frmr_poll_wc(cq, 20, &wc))
		die("no completion within 20 s\n");
	return wc;
}

/*
 * Two RC QPs of one device connected to each other (loopback), on one PD and
 * one CQ.
 */
struct frmr_loopback {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];
	union ibv_gid gid;
};

/*
 * Open @dev and set up @lb on it: a PD, a CQ of 16 entries and the two QPs
 * in RTS (frmr_qp_to_rts()), addressed by the GID at @gid_index of port 1.
 * Dies when any of it fails.
 */
static inline void frmr_loopback_pair(struct frmr_loopback *lb,
				      const char *dev, int gid_index)
{
	lb->ctx = frmr_open_device(dev);
	if (ibv_query_gid(lb->ctx, 1, gid_index, &lb->gid))
		die("query_gid %s %d\n", dev, gid_index);
	lb->pd = ibv_alloc_pd(lb->ctx);
	lb->cq = ibv_create_cq(lb->ctx, 16, NULL, NULL, 0);
	if (!lb->pd || !lb->cq)
		die("pd/cq\n");
	lb->qp[0] = frmr_rc_qp(lb->pd, lb->cq);
	lb->qp[1] = frmr_rc_qp(lb->pd, lb->cq);
	if (!lb->qp[0] || !lb->qp[1])
		die("create_qp: %s\n", strerror(errno));
	frmr_qp_to_rts(lb->qp[0], lb->qp[1]->qp_num, &lb->gid, gid_index);
	frmr_qp_to_rts(lb->qp[1], lb->qp[0]->qp_num, &lb->gid, gid_index);
}

/*
 * One signalled RDMA @op (READ or WRITE) of @len bytes between @local and
 * @raddr under @rkey, posted on @lb's first QP; returns its completion status.
 */
static inline enum ibv_wc_status frmr_loopback_rdma(struct frmr_loopback *lb,
						    enum ibv_wr_opcode op,
						    struct ibv_mr *local,
						    __u64 raddr, __u32 rkey,
						    __u32 len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)local->addr, .length = len,
		.lkey = local->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1,
		.opcode = op, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;

	if (ibv_post_send(lb->qp[0], &wr, &bad))
		die("post_send: %s\n", strerror(errno));
	return frmr_wait_wc(lb->cq).status;
}

/* Free what frmr_loopback_pair() set up. */
static inline void frmr_loopback_close(struct frmr_loopback *lb)
{
	ibv_destroy_qp(lb->qp[0]);
	ibv_destroy_qp(lb->qp[1]);
	ibv_destroy_cq(lb->cq);
	ibv_dealloc_pd(lb->pd);
	ibv_close_device(lb->ctx);
}

#endif /* FRMR_VERBS_H */
