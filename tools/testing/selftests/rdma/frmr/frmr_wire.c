// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_wire - an old rkey across two hosts: the owner of an MR deregisters it
 * and registers its buffer again (a pooled driver hands back the same handle
 * with a new key) while the peer on the other host keeps using the old rkey.
 *
 * The owner (-R owner) and the peer (-R peer) run on two hosts, each on its
 * own RDMA device, and talk over a TCP control channel: the owner listens on
 * -P PORT, the peer connects to -s ADDR, retrying for -w seconds; every
 * message waits at most -w seconds. Each cycle:
 *  1. the owner sends its MR (address, length, rkey); the peer WRITEs a
 *     pattern over all of it and READs part of it back; the peer checks what
 *     it read, the owner its whole buffer;
 *  2. the owner deregisters the MR, registers the same buffer again in the
 *     same PD (only the key stands between the old rkey and the new MR) and
 *     fills it with a canary; with -e the new MR must have the old MR's
 *     index (the handle was reused);
 *  3. the peer WRITEs, then READs, with the old rkey: each must complete
 *     with a remote access error, the READ must bring nothing back and the
 *     canary must stay whole; the owner's QP must be in the error state, and
 *     the peer's. After each, both sides make a new QP pair.
 * With -m lossy the wire loses, duplicates and reorders packets (netem). A
 * valid WRITE or READ may then fail; it is retried on a new QP pair
 * (counted), but what completed must carry the right bytes, and a failed
 * WRITE may have left only pattern and canary bytes. A stale access may also
 * end with a retry error: the owner's QP, in ERR once it sent its NAK, drops
 * the retransmissions when the wire lost the NAK. READs are one packet (see
 * frmr_lossy.c), and each cycle the owner also registers and deregisters an
 * MR of another size (churn).
 *
 * Usage: frmr_wire -R owner|peer [-d DEV] [-g GID_INDEX] [-s ADDR] [-P PORT]
 *                  [-m stale|lossy] [-n CYCLES] [-p PAGES] [-w SECS] [-e]
 * Each side prints one line of counts; exit status 0 when every check of
 * this side held (see frmr_verbs.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include "frmr_verbs.h"

#define STALE_BYTE	0xff	/* what a stale WRITE carries; never a canary */
#define TRIES		4	/* attempts of a valid access on a lossy wire */
#define READ_LEN	1024	/* one packet at path MTU 1024 (lossy mode) */
/* 67 ms, at most 6 retransmissions (7 would be "for ever" on rxe) */
#define QP_TIMEOUT	14
#define RETRY_CNT	6
#define LINE		256

static const char *dev = "rxe0", *server;
static int gid_index = 1, port = 18700, cycles = 20, pages = 4, wait_secs = 60;
static int owner, lossy, expect_reuse, tries = 1;

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_cq *cq;
static struct ibv_qp *qp;
static union ibv_gid gid, peer_gid;
static FILE *cin, *cout;

/* counts */
static int valid_ok, valid_retries, reused, stale, stale_access, stale_retry;
static int churned;

static void ctl_send(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(cout, fmt, ap);
	va_end(ap);
	fputc('\n', cout);
	if (fflush(cout))
		die("control channel: send: %s\n", strerror(errno));
}

/* The next line of the control channel, which must start with @tag. */
static char *ctl_recv(const char *tag, char *line)
{
	size_t n = strlen(tag);

	if (!fgets(line, LINE, cin))
		die("control channel: waiting for %s: %s\n", tag,
		    feof(cin) ? "the peer closed it" : strerror(errno));
	if (strncmp(line, tag, n) || (line[n] != ' ' && line[n] != '\n'))
		die("control channel: expected %s, got %s", tag, line);
	return line + n;
}

static void ctl_open(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = wait_secs };
	struct timespec t0, t;
	int fd = -1, one = 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (owner) {
		struct pollfd p;
		int l = socket(AF_INET, SOCK_STREAM, 0);

		if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one,
					sizeof(one)))
			die("socket: %s\n", strerror(errno));
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
		if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1))
			die("listen on port %d: %s\n", port, strerror(errno));
		p.fd = l;
		p.events = POLLIN;
		if (poll(&p, 1, wait_secs * 1000) != 1)
			die("no peer connected within %d s\n", wait_secs);
		fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept: %s\n", strerror(errno));
		close(l);
	} else {
		if (!server || inet_pton(AF_INET, server, &sa.sin_addr) != 1)
			die("the peer needs -s with the owner's IPv4 address\n");
		for (;;) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0)
				die("socket: %s\n", strerror(errno));
			if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
				break;
			close(fd);
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > wait_secs)
				die("cannot connect to %s:%d within %d s\n",
				    server, port, wait_secs);
			usleep(200000);
		}
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO: %s\n", strerror(errno));
	cin = fdopen(fd, "r");
	cout = fdopen(dup(fd), "w");
	if (!cin || !cout)
		die("fdopen: %s\n", strerror(errno));
}

static void gid_to_hex(const union ibv_gid *g, char *s)
{
	int i;

	for (i = 0; i < 16; i++)
		sprintf(s + 2 * i, "%02x", g->raw[i]);
}

static void hex_to_gid(const char *s, union ibv_gid *g)
{
	unsigned int b;
	int i;

	for (i = 0; i < 16; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			die("bad GID %s\n", s);
		g->raw[i] = b;
	}
}

/* Mode, cycles and pages must agree on both sides; the GIDs are traded. */
static void hello(void)
{
	char line[LINE], hex[33], peer_hex[40], mode[16];
	int n, p;

	gid_to_hex(&gid, hex);
	ctl_send("HELLO %s %d %d %s", lossy ? "lossy" : "stale", cycles, pages,
		 hex);
	if (sscanf(ctl_recv("HELLO", line), "%15s %d %d %39s", mode, &n, &p,
		   peer_hex) != 4)
		die("bad HELLO\n");
	if (strcmp(mode, lossy ? "lossy" : "stale") || n != cycles || p != pages)
		die("the peer runs %s with %d cycles of %d pages\n", mode, n, p);
	hex_to_gid(peer_hex, &peer_gid);
}

/* A new QP on each side, connected to the other's: both call it together. */
static void pair_new(void)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	char line[LINE], *end;
	unsigned int qpn;
	struct ibv_wc wc;

	if (qp && ibv_destroy_qp(qp))
		die("destroy_qp: %s\n", strerror(errno));
	while (ibv_poll_cq(cq, 1, &wc) > 0)
		;
	qa.send_cq = cq;
	qa.recv_cq = cq;
	qp = ibv_create_qp(pd, &qa);
	if (!qp)
		die("create_qp: %s\n", strerror(errno));
	ctl_send("QP %u", qp->qp_num);
	qpn = strtoul(ctl_recv("QP", line), &end, 10);
	if (*end != '\n')
		die("bad QP message\n");
	frmr_qp_connect(qp, qpn, &peer_gid, gid_index,
			owner ? IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ : 0,
			QP_TIMEOUT, RETRY_CNT);
	/* neither side sends before the other's QP is ready to receive */
	ctl_send("RTS");
	ctl_recv("RTS", line);
}

static unsigned char canary(int i)
{
	return 0x01 + i % 0x70;
}

static unsigned char pattern(int i)
{
	return 0x80 | canary(i);
}

static int stale_ok(enum ibv_wc_status st)
{
	return st == IBV_WC_REM_ACCESS_ERR ||
	       (lossy && st == IBV_WC_RETRY_EXC_ERR);
}

/* ------------------------------------------------------------------ owner */

static struct ibv_mr *reg(void *buf, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, buf, len, IBV_ACCESS_LOCAL_WRITE |
				       IBV_ACCESS_REMOTE_WRITE |
				       IBV_ACCESS_REMOTE_READ);

	if (!mr)
		die("reg_mr: %s\n", strerror(errno));
	return mr;
}

/* Every byte of @buf is @a or @b; reports the first that is not. */
static int only_bytes(const unsigned char *buf, size_t len, unsigned char a,
		      unsigned char b, const char *what, int i)
{
	size_t k;

	for (k = 0; k < len; k++) {
		if (buf[k] == a || buf[k] == b)
			continue;
		fail("cycle %d: %s: byte %zu is 0x%02x (want 0x%02x or 0x%02x)\n",
		     i, what, k, buf[k], a, b);
		return 0;
	}
	return 1;
}

/* A churn MR's size never shares a pool with the main MR (a pop may take a
 * handle of a pool less than twice its size).
 */
static size_t churn_pages(int i)
{
	static const int mult[] = { 2, 4, 8 };

	if (i % 4 == 3)
		return 1;
	return (size_t)pages * mult[i % 4 % 3];
}

static void run_owner(void)
{
	size_t len = (size_t)pages * PAGE;
	unsigned char *buf, *cbuf;
	struct ibv_mr *mr, *churn = NULL;
	char line[LINE];
	int i, t, op;

	if (posix_memalign((void **)&buf, PAGE, len) ||
	    posix_memalign((void **)&cbuf, PAGE, (size_t)pages * 8 * PAGE))
		die("memory\n");
	memset(buf, canary(0), len);
	mr = reg(buf, len);
	pair_new();

	for (i = 0; i < cycles; i++) {
		unsigned char before = i ? canary(i - 1) : canary(0);
		unsigned int old_rkey;

		/* 1. the peer WRITEs the pattern and READs it back */
		ctl_send("MR %d %llx %zu %u", i, (unsigned long long)(uintptr_t)buf,
			 len, mr->rkey);
		for (t = 0; t < tries; t++) {
			int st;

			if (sscanf(ctl_recv("W", line), "%*d %d", &st) != 1)
				die("bad W\n");
			if (st == IBV_WC_SUCCESS) {
				if (frmr_buf_is(buf, len, pattern(i)))
					valid_ok++;
				else
					only_bytes(buf, len, pattern(i), pattern(i),
						   "completed WRITE", i);
				break;
			}
			/* a failed WRITE leaves old bytes or pattern bytes */
			only_bytes(buf, len, before, pattern(i), "failed WRITE", i);
			valid_retries++;
			pair_new();
		}
		if (t == tries)
			fail("cycle %d: no WRITE with the live rkey 0x%x completed\n",
			     i, mr->rkey);
		for (t = 0; t < tries; t++) {
			int st;

			if (sscanf(ctl_recv("R", line), "%*d %d", &st) != 1)
				die("bad R\n");
			if (st == IBV_WC_SUCCESS)
				break;
			valid_retries++;
			pair_new();
		}

		/* 2. a new registration of the same buffer, with a canary */
		if (lossy)
			churn = reg(cbuf, churn_pages(i) * PAGE);
		old_rkey = mr->rkey;
		if (ibv_dereg_mr(mr))
			die("dereg_mr: %s\n", strerror(errno));
		mr = reg(buf, len);
		if (mr->rkey >> 8 == old_rkey >> 8)
			reused++;
		else if (expect_reuse)
			fail("cycle %d: new MR index 0x%x, not the old 0x%x\n", i,
			     mr->rkey >> 8, old_rkey >> 8);
		if (mr->rkey == old_rkey)
			fail("cycle %d: the new MR has the old rkey 0x%x\n", i,
			     old_rkey);
		if (churn) {
			if (ibv_dereg_mr(churn))
				die("dereg_mr: %s\n", strerror(errno));
			churn = NULL;
			churned++;
		}
		memset(buf, canary(i), len);

		/* 3. the old rkey, a WRITE and a READ */
		for (op = 0; op < 2; op++) {
			int st;

			ctl_send("STALE %d %d %u %llx", i, op, old_rkey,
				 (unsigned long long)(uintptr_t)buf);
			if (sscanf(ctl_recv("S", line), "%*d %*d %d", &st) != 1)
				die("bad S\n");
			stale++;
			if (st == IBV_WC_REM_ACCESS_ERR) {
				stale_access++;
				if (!frmr_qp_wait_state(qp, IBV_QPS_ERR))
					fail("cycle %d: owner's QP not in ERR\n", i);
			} else if (stale_ok(st)) {
				stale_retry++;
			} else {
				fail("cycle %d: %s with old rkey 0x%x (new 0x%x): %s\n",
				     i, op ? "READ" : "WRITE", old_rkey,
				     mr->rkey, ibv_wc_status_str(st));
			}
			if (!frmr_buf_is(buf, len, canary(i)))
				only_bytes(buf, len, canary(i), canary(i),
					   "canary after a stale access", i);
			pair_new();
		}
		if (failures > 10)
			break;
	}
	ctl_send("END %d", failures);
	ctl_recv("END", line);
	printf("owner: cycles %d valid_ok %d retries %d reused %d churned %d ",
	       i, valid_ok, valid_retries, reused, churned);
	printf("stale %d stale_access_err %d stale_retry_err %d failures %d; peer: %s",
	       stale, stale_access, stale_retry, failures, line + 4);
	ibv_dereg_mr(mr);
	free(buf);
	free(cbuf);
}

/* ------------------------------------------------------------------- peer */

/* One signalled WRITE (from @l) or READ (into @l) at @raddr; its status. */
static enum ibv_wc_status peer_op(struct ibv_mr *l, enum ibv_wr_opcode op,
				  unsigned int len, unsigned long long raddr,
				  unsigned int rkey)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)l->addr, .length = len, .lkey = l->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1,
		.opcode = op, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;

	if (ibv_post_send(qp, &wr, &bad))
		die("post_send: %s\n", strerror(errno));
	if (!frmr_poll_wc(cq, 20, &wc))
		die("%s rkey 0x%x: no completion within 20 s\n",
		    op == IBV_WR_RDMA_WRITE ? "WRITE" : "READ", rkey);
	return wc.status;
}

static void run_peer(void)
{
	unsigned char *wbuf, *rbuf;
	struct ibv_mr *wmr, *rmr;
	char line[LINE], *p = line;
	size_t len = (size_t)pages * PAGE;
	unsigned int read_len = lossy ? READ_LEN : len;

	if (posix_memalign((void **)&wbuf, PAGE, len) ||
	    posix_memalign((void **)&rbuf, PAGE, len))
		die("memory\n");
	wmr = ibv_reg_mr(pd, wbuf, len, IBV_ACCESS_LOCAL_WRITE);
	rmr = ibv_reg_mr(pd, rbuf, len, IBV_ACCESS_LOCAL_WRITE);
	if (!wmr || !rmr)
		die("reg_mr: %s\n", strerror(errno));
	pair_new();

	for (;;) {
		unsigned long long addr = 0;
		enum ibv_wc_status st = IBV_WC_GENERAL_ERR;
		unsigned int rkey = 0;
		int i, t, op;
		size_t n;

		if (!fgets(line, sizeof(line), cin))
			die("control channel: %s\n",
			    feof(cin) ? "the owner closed it" : strerror(errno));
		if (!strncmp(line, "END ", 4)) {
			ctl_send("END %d", failures);
			p = line + 4;
			break;
		}
		if (sscanf(line, "MR %d %llx %zu %u", &i, &addr, &n, &rkey) == 4) {
			if (n != len)
				die("MR of %zu bytes, not %zu\n", n, len);
			memset(wbuf, pattern(i), len);
			for (t = 0; t < tries; t++) {
				st = peer_op(wmr, IBV_WR_RDMA_WRITE, len, addr, rkey);
				ctl_send("W %d %d", i, st);
				if (st == IBV_WC_SUCCESS)
					break;
				valid_retries++;
				pair_new();
			}
			if (t == tries)
				fail("cycle %d: WRITE with the live rkey 0x%x: %s\n",
				     i, rkey, ibv_wc_status_str(st));
			for (t = 0; t < tries; t++) {
				memset(rbuf, 0, len);
				st = peer_op(rmr, IBV_WR_RDMA_READ, read_len, addr,
					     rkey);
				ctl_send("R %d %d", i, st);
				if (st == IBV_WC_SUCCESS)
					break;
				valid_retries++;
				pair_new();
			}
			if (t == tries)
				fail("cycle %d: READ with the live rkey 0x%x: %s\n",
				     i, rkey, ibv_wc_status_str(st));
			else if (!frmr_buf_is(rbuf, read_len, pattern(i)))
				fail("cycle %d: READ did not return the pattern 0x%02x\n",
				     i, pattern(i));
			else
				valid_ok++;
			/* a lossy wire may fail every try; the owner saw each */
			continue;
		}
		if (sscanf(line, "STALE %d %d %u %llx", &i, &op, &rkey, &addr) == 4) {
			memset(wbuf, STALE_BYTE, len);
			memset(rbuf, 0, len);
			if (op == 0)
				st = peer_op(wmr, IBV_WR_RDMA_WRITE, PAGE, addr,
					     rkey);
			else
				st = peer_op(rmr, IBV_WR_RDMA_READ, read_len,
					     addr, rkey);
			stale++;
			if (st == IBV_WC_REM_ACCESS_ERR)
				stale_access++;
			else if (stale_ok(st))
				stale_retry++;
			else
				fail("cycle %d: %s with old rkey 0x%x: %s\n", i,
				     op ? "READ" : "WRITE", rkey,
				     ibv_wc_status_str(st));
			if (st != IBV_WC_SUCCESS &&
			    !frmr_qp_wait_state(qp, IBV_QPS_ERR))
				fail("cycle %d: peer's QP not in ERR after an error\n",
				     i);
			if (op == 1 && !frmr_buf_is(rbuf, len, 0))
				fail("cycle %d: READ with old rkey 0x%x brought data\n",
				     i, rkey);
			ctl_send("S %d %d %d", i, op, st);
			pair_new();
			continue;
		}
		die("control channel: unexpected %s", line);
	}
	printf("peer: valid_ok %d retries %d stale %d stale_access_err %d ",
	       valid_ok, valid_retries, stale, stale_access);
	printf("stale_retry_err %d failures %d; owner: %s", stale_retry,
	       failures, p);
	ibv_dereg_mr(wmr);
	ibv_dereg_mr(rmr);
	free(wbuf);
	free(rbuf);
}

int main(int argc, char **argv)
{
	const char *role = NULL, *mode = "stale";
	int c;

	while ((c = getopt(argc, argv, "R:d:g:s:P:m:n:p:w:e")) != -1) {
		switch (c) {
		case 'R':
			role = optarg;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'g':
			gid_index = atoi(optarg);
			break;
		case 's':
			server = optarg;
			break;
		case 'P':
			port = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			cycles = atoi(optarg);
			break;
		case 'p':
			pages = atoi(optarg);
			break;
		case 'w':
			wait_secs = atoi(optarg);
			break;
		case 'e':
			expect_reuse = 1;
			break;
		default:
			die("bad option\n");
		}
	}
	if (!role || (strcmp(role, "owner") && strcmp(role, "peer")))
		die("-R owner or -R peer\n");
	owner = !strcmp(role, "owner");
	if (strcmp(mode, "stale") && strcmp(mode, "lossy"))
		die("-m stale or -m lossy\n");
	lossy = !strcmp(mode, "lossy");
	if (lossy)
		tries = TRIES;
	if (cycles < 1 || pages < 2 || pages > 64 || wait_secs < 1)
		die("bad parameters\n");

	ctx = frmr_open_device(dev);
	if (ibv_query_gid(ctx, 1, gid_index, &gid))
		die("query_gid %s %d\n", dev, gid_index);
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!pd || !cq)
		die("pd/cq\n");
	ctl_open();
	hello();
	if (owner)
		run_owner();
	else
		run_peer();
	fflush(stdout);
	if (qp)
		ibv_destroy_qp(qp);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return frmr_exit_status();
}
