// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_lossy - pooled MR handles move between two processes while their
 * peers' RDMA WRITEs and READs cross a lossy wire; an old rkey never reaches
 * the MR that reused its handle.
 *
 * Two processes (so two ucontexts and two PDs) each own an MR of the same
 * size on the owner device (rxe1) at the same virtual address, and each has
 * its own peer: an RC QP on the requester device (rxe0), connected over the
 * wire (the caller puts netem with loss, duplication, reordering and delay
 * on it). Round r, with mover m = r % 2 and other o:
 *  1. m deregisters its MR (its handle goes on top of the pool's stack);
 *  2. o registers a new MR, which must get m's old index (handle moved),
 *     fills it with its canary, lets its peer WRITE page 0 and READ 1 KiB of page 1
 *     with the new rkey, then deregisters its previous MR;
 *  3. m registers again, must get o's old index, and does the same;
 *  4. both peers post an RDMA WRITE and an RDMA READ with their process's
 *     previous rkey, whose index now belongs to the other process's live MR
 *     (same address, other PD, other key byte): each must complete with an
 *     error (a remote access error, or a retry error when the wire lost
 *     the NAK: the owner's QP, in ERR once it sent it, drops every
 *     retransmission), and the READ must bring back nothing;
 *  5. each process checks its own memory: page 0 holds only its canary or
 *     its peer's WRITE pattern, every other page only its canary.
 * A QP pair that saw an error is replaced by a new one. Peer traffic with the
 * new rkey is retried on a new pair if the wire broke it (counted).
 *
 * Usage: frmr_lossy [-q DEV] [-o DEV] [-g GID_INDEX] [-r ROUNDS] [-p PAGES]
 * -q: the peers' device (rxe0), -o: the owners' device (rxe1).
 * Each process prints one line of counts; exit status 0 when every check
 * held.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "frmr_verbs.h"

#define STALE_BYTE	0xff	/* what a stale WRITE carries; never a canary */
#define TRIES		4
/*
 * 67 ms, at most 6 retransmissions: a WR ends within about 0.5 s even when
 * its answer never comes. A stale rkey's NAK moves the owner's QP to ERR,
 * which then drops everything; when netem drops that NAK, only the
 * retry limit ends the WR (IBV_WC_RETRY_EXC_ERR). With retry_cnt 7, which
 * rxe takes as "no limit", it never ended.
 */
#define QP_TIMEOUT	14
#define RETRY_CNT	6
/*
 * One packet at path MTU 1024: a READ whose response broke off and is
 * retried from a middle PSN ends in COMPST_ERROR with a success status in
 * 6.12's check_ack() (WARN in rxe_completer()); that stock bug is not what
 * this test is about.
 */
#define READ_LEN	1024

struct shared {
	pthread_barrier_t barrier;
	__u32 released_index[2];	/* index of the MR each one dropped */
};

static struct shared *sh;
static const char *qdev = "rxe0", *odev = "rxe1";
static int gid_index = 1, pages = 4, rounds = 40;

struct proc {
	int id;
	struct ibv_context *qctx, *octx;
	struct ibv_pd *qpd, *opd;
	struct ibv_cq *qcq, *ocq;
	struct ibv_qp *qqp, *oqp;
	union ibv_gid qgid, ogid;
	unsigned char *obuf, *wbuf, *rbuf;
	struct ibv_mr *omr, *wmr, *rmr;
	size_t len;
	/* counts */
	int moved, traffic_ok, retries, stale, stale_access, stale_retry;
	int canary_bad;
};

static void sync_all(void)
{
	int rc = pthread_barrier_wait(&sh->barrier);

	if (rc && rc != PTHREAD_BARRIER_SERIAL_THREAD)
		die("barrier: %d\n", rc);
}

static unsigned char canary(int id, int r)
{
	return 0x01 + (r * 2 + id) % 0x70;
}

static unsigned char write_byte(int id, int r)
{
	return 0x80 | canary(id, r);
}

static void pair_new(struct proc *p)
{
	struct ibv_wc wc;

	if (p->qqp && (ibv_destroy_qp(p->qqp) || ibv_destroy_qp(p->oqp)))
		die("destroy_qp: %s\n", strerror(errno));
	while (ibv_poll_cq(p->qcq, 1, &wc) > 0)
		;
	while (ibv_poll_cq(p->ocq, 1, &wc) > 0)
		;
	p->qqp = frmr_rc_qp(p->qpd, p->qcq);
	p->oqp = frmr_rc_qp(p->opd, p->ocq);
	if (!p->qqp || !p->oqp)
		die("create_qp: %s\n", strerror(errno));
	frmr_qp_connect(p->qqp, p->oqp->qp_num, &p->ogid, gid_index, 0,
			QP_TIMEOUT, RETRY_CNT);
	frmr_qp_connect(p->oqp, p->qqp->qp_num, &p->qgid, gid_index,
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
			QP_TIMEOUT, RETRY_CNT);
}

static const char *const qp_state_name[] = {
	"RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR",
};

/* What a QP looks like when its WR did not complete: one line on stderr. */
static void qp_report(struct proc *p, const char *who, struct ibv_qp *qp)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr a;

	if (ibv_query_qp(qp, &a, IBV_QP_STATE | IBV_QP_CUR_STATE |
			 IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			 IBV_QP_SQ_PSN | IBV_QP_RQ_PSN, &ia)) {
		fprintf(stderr, "proc %d %s qp 0x%x: query_qp: %s\n", p->id,
			who, qp->qp_num, strerror(errno));
		return;
	}
	fprintf(stderr,
		"proc %d %s qp 0x%x: state %s timeout %u retry_cnt %u rnr_retry %u sq_psn %u rq_psn %u\n",
		p->id, who, qp->qp_num,
		a.qp_state <= IBV_QPS_ERR ? qp_state_name[a.qp_state] : "?",
		a.timeout, a.retry_cnt, a.rnr_retry, a.sq_psn, a.rq_psn);
}

/* One signalled WRITE of a page (from wbuf) or READ (into rbuf) by the peer. */
static enum ibv_wc_status peer_op(struct proc *p, enum ibv_wr_opcode op,
				  size_t off, __u32 rkey)
{
	int write = op == IBV_WR_RDMA_WRITE;
	struct ibv_mr *l = write ? p->wmr : p->rmr;
	struct ibv_sge sge = {
		.addr = (uintptr_t)l->addr, .length = write ? PAGE : READ_LEN,
		.lkey = l->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1,
		.opcode = op, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)p->obuf + off,
			     .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;

	if (ibv_post_send(p->qqp, &wr, &bad))
		die("post_send: %s\n", strerror(errno));
	if (!frmr_poll_wc(p->qcq, 20, &wc)) {
		fprintf(stderr, "proc %d: %s rkey 0x%x: no completion within 20 s\n",
			p->id, write ? "WRITE" : "READ", rkey);
		qp_report(p, "peer", p->qqp);
		qp_report(p, "owner", p->oqp);
		die("stalled\n");
	}
	if (wc.status != IBV_WC_SUCCESS)
		pair_new(p);
	return wc.status;
}

/* Register a new MR on obuf; returns the previous one (still registered). */
static struct ibv_mr *reregister(struct proc *p, int r, __u32 want_index)
{
	struct ibv_mr *prev = p->omr;

	p->omr = ibv_reg_mr(p->opd, p->obuf, p->len, IBV_ACCESS_LOCAL_WRITE |
			    IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	if (!p->omr)
		die("proc %d: reg_mr: %s\n", p->id, strerror(errno));
	if (p->omr->rkey >> 8 == want_index)
		p->moved++;
	else
		fail("proc %d round %d: index 0x%x, not the other process's 0x%x\n",
		     p->id, r, p->omr->rkey >> 8, want_index);
	memset(p->obuf, canary(p->id, r), p->len);
	return prev;
}

/* The peer WRITEs page 0 and READs page 1 with the current rkey. */
static void traffic(struct proc *p, int r)
{
	enum ibv_wc_status st;
	int t;

	memset(p->wbuf, write_byte(p->id, r), PAGE);
	for (t = 0; t < TRIES; t++) {
		st = peer_op(p, IBV_WR_RDMA_WRITE, 0, p->omr->rkey);
		if (st == IBV_WC_SUCCESS)
			break;
		p->retries++;
	}
	if (t == TRIES)
		fail("proc %d round %d: WRITE with the new rkey: %s\n", p->id,
		     r, ibv_wc_status_str(st));
	for (t = 0; t < TRIES; t++) {
		memset(p->rbuf, 0, PAGE);
		st = peer_op(p, IBV_WR_RDMA_READ, PAGE, p->omr->rkey);
		if (st == IBV_WC_SUCCESS)
			break;
		p->retries++;
	}
	if (t == TRIES)
		fail("proc %d round %d: READ with the new rkey: %s\n", p->id, r,
		     ibv_wc_status_str(st));
	else if (!frmr_buf_is(p->rbuf, READ_LEN, canary(p->id, r)))
		fail("proc %d round %d: READ did not return the canary\n",
		     p->id, r);
	else
		p->traffic_ok++;
}

static void stale_one(struct proc *p, int r, enum ibv_wr_opcode op,
		      __u32 rkey)
{
	const char *what = op == IBV_WR_RDMA_WRITE ? "WRITE" : "READ";
	enum ibv_wc_status st;

	memset(p->wbuf, STALE_BYTE, PAGE);
	memset(p->rbuf, 0, PAGE);
	st = peer_op(p, op, op == IBV_WR_RDMA_WRITE ? 0 : PAGE, rkey);
	p->stale++;
	if (st == IBV_WC_REM_ACCESS_ERR)
		p->stale_access++;
	else if (st == IBV_WC_RETRY_EXC_ERR)
		p->stale_retry++;
	else
		fail("proc %d round %d: %s with old rkey 0x%x (now 0x%x's index): %s\n",
		     p->id, r, what, rkey, p->omr->rkey, ibv_wc_status_str(st));
	if (op == IBV_WR_RDMA_READ && !frmr_buf_is(p->rbuf, READ_LEN, 0))
		fail("proc %d round %d: READ with old rkey 0x%x brought data\n",
		     p->id, r, rkey);
}

static void check_canary(struct proc *p, int r)
{
	unsigned char c = canary(p->id, r), w = write_byte(p->id, r);
	size_t i;

	for (i = 0; i < p->len; i++) {
		if (p->obuf[i] == c || (i < PAGE && p->obuf[i] == w))
			continue;
		fail("proc %d round %d: byte %zu is 0x%02x (canary 0x%02x, peer 0x%02x)\n",
		     p->id, r, i, p->obuf[i], c, w);
		p->canary_bad++;
		break;
	}
}

static int run_proc(int id, unsigned char *obuf)
{
	struct proc p = { .id = id, .obuf = obuf, .len = (size_t)pages * PAGE };
	__u32 old_rkey = 0;
	int r;

	p.qctx = frmr_open_device(qdev);
	p.octx = frmr_open_device(odev);
	if (ibv_query_gid(p.qctx, 1, gid_index, &p.qgid) ||
	    ibv_query_gid(p.octx, 1, gid_index, &p.ogid))
		die("query_gid %d\n", gid_index);
	p.qpd = ibv_alloc_pd(p.qctx);
	p.opd = ibv_alloc_pd(p.octx);
	p.qcq = ibv_create_cq(p.qctx, 16, NULL, NULL, 0);
	p.ocq = ibv_create_cq(p.octx, 16, NULL, NULL, 0);
	if (!p.qpd || !p.opd || !p.qcq || !p.ocq)
		die("pd/cq\n");
	p.wbuf = frmr_alloc(PAGE);
	p.rbuf = frmr_alloc(PAGE);
	p.wmr = ibv_reg_mr(p.qpd, p.wbuf, PAGE, IBV_ACCESS_LOCAL_WRITE);
	p.rmr = ibv_reg_mr(p.qpd, p.rbuf, PAGE, IBV_ACCESS_LOCAL_WRITE);
	if (!p.wmr || !p.rmr)
		die("reg_mr: %s\n", strerror(errno));
	pair_new(&p);

	/* one after the other: process 0's handle is made first */
	memset(p.obuf, canary(id, 0), p.len);
	for (r = 0; r < 2; r++) {
		if (r == id) {
			p.omr = ibv_reg_mr(p.opd, p.obuf, p.len,
					   IBV_ACCESS_LOCAL_WRITE |
					   IBV_ACCESS_REMOTE_WRITE |
					   IBV_ACCESS_REMOTE_READ);
			if (!p.omr)
				die("reg_mr: %s\n", strerror(errno));
		}
		sync_all();
	}

	for (r = 1; r <= rounds; r++) {
		int mover = r % 2;
		struct ibv_mr *prev;

		if (id == mover) {
			old_rkey = p.omr->rkey;
			sh->released_index[id] = old_rkey >> 8;
			if (ibv_dereg_mr(p.omr))
				die("dereg_mr: %s\n", strerror(errno));
			p.omr = NULL;
		}
		sync_all();
		if (id != mover) {
			old_rkey = p.omr->rkey;
			prev = reregister(&p, r, sh->released_index[mover]);
			traffic(&p, r);
			sh->released_index[id] = old_rkey >> 8;
			if (ibv_dereg_mr(prev))
				die("dereg_mr: %s\n", strerror(errno));
		}
		sync_all();
		if (id == mover) {
			reregister(&p, r, sh->released_index[!mover]);
			traffic(&p, r);
		}
		sync_all();
		/* our old rkey's index is the other process's MR now */
		stale_one(&p, r, IBV_WR_RDMA_WRITE, old_rkey);
		stale_one(&p, r, IBV_WR_RDMA_READ, old_rkey);
		sync_all();
		check_canary(&p, r);
		if (failures > 10)
			break;
	}

	if (r > rounds && p.moved != rounds)
		fail("proc %d: %d handles moved in %d rounds\n", id, p.moved,
		     rounds);
	printf("proc %d rounds %d moved %d traffic_ok %d retries %d ", id, rounds,
	       p.moved, p.traffic_ok, p.retries);
	printf("stale %d stale_access_err %d stale_retry_err %d canary_bad %d failures %d\n",
	       p.stale, p.stale_access, p.stale_retry, p.canary_bad, failures);
	fflush(stdout);
	ibv_destroy_qp(p.qqp);
	ibv_destroy_qp(p.oqp);
	ibv_dereg_mr(p.omr);
	ibv_dereg_mr(p.wmr);
	ibv_dereg_mr(p.rmr);
	ibv_destroy_cq(p.qcq);
	ibv_destroy_cq(p.ocq);
	ibv_dealloc_pd(p.qpd);
	ibv_dealloc_pd(p.opd);
	ibv_close_device(p.qctx);
	ibv_close_device(p.octx);
	return frmr_exit_status();
}

int main(int argc, char **argv)
{
	pthread_barrierattr_t ba;
	unsigned char *obuf;
	pid_t pid[2];
	int c, i, st, bad = 0;

	while ((c = getopt(argc, argv, "q:o:g:r:p:")) != -1) {
		if (frmr_opt(c, NULL, &gid_index, NULL, &pages))
			continue;
		switch (c) {
		case 'q':
			qdev = optarg;
			break;
		case 'o':
			odev = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		default:
			die("bad option\n");
		}
	}
	if (rounds < 1 || rounds > 200 || pages < 2)
		die("bad parameters\n");

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s\n", strerror(errno));
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	if (pthread_barrier_init(&sh->barrier, &ba, 2))
		die("barrier\n");
	/* the same address in both processes: an old rkey's address is valid
	 * in the other process's MR, only the key and the PD stand between
	 */
	obuf = frmr_alloc((size_t)pages * PAGE);

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork\n");
		if (!pid[i])
			exit(run_proc(i, obuf));
	}
	/* one process failing must not leave the other at a barrier */
	for (i = 0; i < 2; i++) {
		pid_t w = wait(&st);

		if (w < 0)
			break;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			bad = 1;
			kill(pid[0], SIGKILL);
			kill(pid[1], SIGKILL);
		}
	}
	printf("frmr_lossy: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
